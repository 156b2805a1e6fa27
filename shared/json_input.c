#include <string.h>

#include "json_input.h"
#include "utf8.h"

static int
json_input_blank(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL || buf[i] == '\0')
			return 0;
	return 1;
}

/*
 * JSON forbids raw control characters inside strings, which json-c lets
 * through: look for them ourselves.
 */
static int
json_input_raw_controls(const char *buf, size_t len)
{
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (!in_string) {
			in_string = c == '"';
			continue;
		}
		if (c < 0x20)
			return 1;
		if (c == '\\')
			i++;
		else if (c == '"')
			in_string = 0;
	}
	return 0;
}

enum json_input_status
json_input_parse(const char *buf, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t used;

	*out = NULL;
	if (json_input_blank(buf, len))
		return JSON_INPUT_EMPTY;
	if (!utf8_valid(buf, len))
		return JSON_INPUT_BAD_UTF8;
	if (json_input_raw_controls(buf, len))
		return JSON_INPUT_BAD_JSON;
	/* json-c takes the length as an int. */
	if (len > 64 * 1024 * 1024)
		return JSON_INPUT_BAD_JSON;

	tok = json_tokener_new_ex(JSON_INPUT_MAX_DEPTH);
	if (tok == NULL)
		return JSON_INPUT_BAD_JSON;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/* The terminating NUL is passed too: it ends a bare number or
	 * literal that json-c would otherwise wait to see continued. */
	obj = json_tokener_parse_ex(tok, buf, (int)len + 1);
	used = json_tokener_get_parse_end(tok);
	if (used > len)
		used = len;
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_input_blank(buf + used, len - used)) {
		json_object_put(obj);
		json_tokener_free(tok);
		return JSON_INPUT_BAD_JSON;
	}
	json_tokener_free(tok);
	/* obj is NULL for the JSON literal null. */
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return JSON_INPUT_NOT_OBJECT;
	}
	*out = obj;
	return JSON_INPUT_OK;
}

enum json_input_field
json_input_string(struct json_object *obj, const char *key,
    const char **value, size_t *len)
{
	struct json_object *member;

	if (!json_object_object_get_ex(obj, key, &member) || member == NULL)
		return JSON_FIELD_MISSING;
	if (!json_object_is_type(member, json_type_string))
		return JSON_FIELD_NOT_STRING;
	*value = json_object_get_string(member);
	*len = (size_t)json_object_get_string_len(member);
	if (memchr(*value, '\0', *len) != NULL)
		return JSON_FIELD_HAS_NUL;
	return JSON_FIELD_OK;
}
