#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "json_input.h"
#include "rules.h"
#include "utf8.h"

/* The msg and type of each refusal, as docs/API.md lists them. */
static const struct {
	const char	*msg;		/* with a bound: the words before it */
	const char	*after_bound;	/* NULL: no bound */
	const char	*type;
} rules_refusals[] = {
	[RULES_MISSING] = { "field required", NULL, "value_error.missing" },
	[RULES_NOT_STRING] = { "str type expected", NULL, "type_error.str" },
	[RULES_HAS_NUL] = { "string must not contain U+0000", NULL,
	    "value_error.str.nul" },
	[RULES_BAD_UTF8] = { "Invalid UTF-8 in string", NULL,
	    "value_error.unicode" },
	[RULES_TOO_SHORT] = { "ensure this value has at least ", " characters",
	    "value_error.any_str.min_length" },
	[RULES_TOO_LONG] = { "ensure this value has at most ", " characters",
	    "value_error.any_str.max_length" },
	[RULES_NOT_UUID] = { "value is not a valid uuid", NULL,
	    "type_error.uuid" },
	/* Only chat-push answers it, in a detail: its type is never shown. */
	[RULES_BAD_TEMP_ID] = { "a string of at most ", " characters expected",
	    "type_error.str" },
	[RULES_BAD_KEY] = { "1 to ", " printable ASCII characters expected",
	    "value_error.idempotency_key" },
	[RULES_BAD_URL] = { "invalid or missing URL scheme", NULL,
	    "value_error.url.scheme" },
	[RULES_NOT_LIST] = { "value is not a valid list", NULL,
	    "type_error.list" },
	[RULES_TOO_MANY] = { "ensure this value has at most ", " items",
	    "value_error.list.max_items" },
	[RULES_REPEATED] = { "the list has duplicated items", NULL,
	    "value_error.list.unique_items" },
};

int
rules_refuse(struct rules_error *e, enum rules_refusal refusal, size_t bound)
{
	const char *msg = rules_refusals[refusal].msg;
	const char *after = rules_refusals[refusal].after_bound;

	if (after == NULL)
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	else
		snprintf(e->msg, sizeof(e->msg), "%s%zu%s", msg, bound, after);
	e->type = rules_refusals[refusal].type;
	return -1;
}

int
rules_string(const char *s, size_t len, size_t min, size_t max,
    struct rules_error *e)
{
	size_t chars;

	if (memchr(s, '\0', len) != NULL)
		return rules_refuse(e, RULES_HAS_NUL, 0);
	if (!utf8_valid(s, len))
		return rules_refuse(e, RULES_BAD_UTF8, 0);
	chars = utf8_length(s, len);
	if (chars < min)
		return rules_refuse(e, RULES_TOO_SHORT, min);
	if (chars > max)
		return rules_refuse(e, RULES_TOO_LONG, max);
	return 0;
}

int
rules_idempotency_key(const char *s, size_t len, struct rules_error *e)
{
	if (len == 0 || len > RULES_KEY_MAX)
		return rules_refuse(e, RULES_BAD_KEY, RULES_KEY_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return rules_refuse(e, RULES_BAD_KEY, RULES_KEY_MAX);
	return 0;
}

int
rules_json_string(struct json_object *obj, const char *name, int optional,
    const char **value, size_t *len, struct rules_error *e)
{
	*value = NULL;
	*len = 0;
	switch (json_input_string(obj, name, value, len)) {
	case JSON_FIELD_OK:
		return 0;
	case JSON_FIELD_MISSING:
		*value = NULL;
		return optional ? 0 : rules_refuse(e, RULES_MISSING, 0);
	case JSON_FIELD_NOT_STRING:
		return rules_refuse(e, RULES_NOT_STRING, 0);
	case JSON_FIELD_HAS_NUL:
		return rules_refuse(e, RULES_HAS_NUL, 0);
	}
	return rules_refuse(e, RULES_NOT_STRING, 0);
}

int
rules_username_chars(const char *s)
{
	return s[strspn(s, RULES_USERNAME_CHARS)] == '\0';
}

int
rules_email(const char *s)
{
	const char *at = strchr(s, '@');
	const char *domain;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL)
		return 0;
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	domain = at + 1;
	if (strchr(domain, '.') == NULL || domain[0] == '.' ||
	    domain[strlen(domain) - 1] == '.' || strstr(domain, "..") != NULL)
		return 0;
	return 1;
}

int
rules_uuid(const char *text, char out[UUID_TEXT_SIZE], struct rules_error *e)
{
	if (uuid_normalize(text, out) == 0)
		return 0;
	return rules_refuse(e, RULES_NOT_UUID, 0);
}

int
rules_json_uuid(struct json_object *obj, const char *name,
    char out[UUID_TEXT_SIZE], struct rules_error *e)
{
	const char *text;
	size_t len;

	/* A member of another type is no more a UUID than a bad string. */
	switch (json_input_string(obj, name, &text, &len)) {
	case JSON_FIELD_OK:
		return rules_uuid(text, out, e);
	case JSON_FIELD_MISSING:
		return rules_refuse(e, RULES_MISSING, 0);
	default:
		return rules_refuse(e, RULES_NOT_UUID, 0);
	}
}

int
rules_json_content(struct json_object *obj, const char *name,
    const char **value, struct rules_error *e)
{
	size_t len, start, end;

	if (rules_json_string(obj, name, 0, value, &len, e) == -1 ||
	    rules_string(*value, len, 0, SIZE_MAX, e) == -1)
		return -1;
	/* Counted without its white space; stored as sent. */
	utf8_trim(*value, len, &start, &end);
	if (start == end)
		return rules_refuse(e, RULES_TOO_SHORT, 1);
	if (utf8_length(*value + start, end - start) > RULES_CONTENT_MAX)
		return rules_refuse(e, RULES_TOO_LONG, RULES_CONTENT_MAX);
	return 0;
}

int
rules_json_temp_id(struct json_object *obj, const char **value, size_t *len,
    struct rules_error *e)
{
	if (rules_json_string(obj, "temp_id", 1, value, len, e) == -1 ||
	    (*value != NULL && utf8_length(*value, *len) > RULES_TEMP_ID_MAX)) {
		*value = NULL;
		return rules_refuse(e, RULES_BAD_TEMP_ID, RULES_TEMP_ID_MAX);
	}
	return 0;
}

int
rules_url(const char *s, struct rules_error *e)
{
	if (strncasecmp(s, "http://", 7) == 0)
		s += 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		s += 8;
	else
		return rules_refuse(e, RULES_BAD_URL, 0);
	if (*s == '\0')
		return rules_refuse(e, RULES_BAD_URL, 0);
	return 0;
}

int
rules_json_uuid_list(struct json_object *obj, const char *name, size_t max,
    int unique, char *literal, size_t *count, struct rules_error *e)
{
	struct json_object *list, *item;
	char id[UUID_TEXT_SIZE];
	const size_t step = UUID_TEXT_SIZE;	/* an id and its separator */
	size_t n;

	*count = 0;
	memcpy(literal, "{}", 3);
	if (!json_object_object_get_ex(obj, name, &list) || list == NULL)
		return rules_refuse(e, RULES_MISSING, 0);
	if (!json_object_is_type(list, json_type_array))
		return rules_refuse(e, RULES_NOT_LIST, 0);
	n = json_object_array_length(list);
	if (n > max)
		return rules_refuse(e, RULES_TOO_MANY, max);
	for (size_t i = 0; i < n; i++) {
		item = json_object_array_get_idx(list, i);
		/* A string holding a NUL is no more a UUID than its prefix. */
		if (item == NULL || !json_object_is_type(item, json_type_string) ||
		    strlen(json_object_get_string(item)) !=
		    (size_t)json_object_get_string_len(item) ||
		    rules_uuid(json_object_get_string(item), id, e) == -1)
			return rules_refuse(e, RULES_NOT_UUID, 0);
		for (size_t k = 0; unique && k < i; k++)
			if (memcmp(literal + 1 + k * step, id, step - 1) == 0)
				return rules_refuse(e, RULES_REPEATED, 0);
		literal[i * step] = i == 0 ? '{' : ',';
		memcpy(literal + 1 + i * step, id, step - 1);
	}
	if (n > 0)
		memcpy(literal + n * step, "}", 2);
	*count = n;
	return 0;
}
