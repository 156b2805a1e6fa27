#include <ctype.h>
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
 * A strict RFC 8259 check before json-c builds anything: json-c 0.16
 * accepts NaN, Infinity, "1.", single-quoted names and raw control
 * characters in strings, and counts nesting its own way.
 */
struct json_check {
	const unsigned char	*p, *end;
	int			 depth;
};

static void
json_check_ws(struct json_check *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' ||
	    *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int
json_check_digits(struct json_check *c)
{
	const unsigned char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start ? 0 : -1;
}

static int
json_check_number(struct json_check *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (c->p < c->end && *c->p == '0')
		c->p++;
	else if (json_check_digits(c) == -1)
		return -1;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (json_check_digits(c) == -1)
			return -1;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (json_check_digits(c) == -1)
			return -1;
	}
	return 0;
}

static int
json_check_string(struct json_check *c)
{
	c->p++;				/* the opening quote */
	while (c->p < c->end) {
		unsigned char ch = *c->p++;

		if (ch == '"')
			return 0;
		if (ch < 0x20)
			return -1;
		if (ch != '\\')
			continue;
		if (c->p >= c->end)
			return -1;
		ch = *c->p++;
		if (ch == 'u') {
			for (int i = 0; i < 4; i++, c->p++)
				if (c->p >= c->end || !isxdigit(*c->p))
					return -1;
		} else if (strchr("\"\\/bfnrt", ch) == NULL || ch == '\0')
			return -1;
	}
	return -1;
}

static int
json_check_literal(struct json_check *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return -1;
	c->p += n;
	return 0;
}

static int json_check_value(struct json_check *c);

/* An object or an array: open and close are its brackets. */
static int
json_check_container(struct json_check *c, unsigned char close)
{
	if (++c->depth > JSON_INPUT_MAX_DEPTH)
		return -1;
	c->p++;
	json_check_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		c->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			json_check_ws(c);
			if (c->p >= c->end || *c->p != '"' ||
			    json_check_string(c) == -1)
				return -1;
			json_check_ws(c);
			if (c->p >= c->end || *c->p++ != ':')
				return -1;
		}
		if (json_check_value(c) == -1)
			return -1;
		if (c->p >= c->end)
			return -1;
		if (*c->p == close) {
			c->p++;
			c->depth--;
			return 0;
		}
		if (*c->p++ != ',')
			return -1;
	}
}

static int
json_check_value(struct json_check *c)
{
	int rc;

	json_check_ws(c);
	if (c->p >= c->end)
		return -1;
	switch (*c->p) {
	case '{':
		rc = json_check_container(c, '}');
		break;
	case '[':
		rc = json_check_container(c, ']');
		break;
	case '"':
		rc = json_check_string(c);
		break;
	case 't':
		rc = json_check_literal(c, "true");
		break;
	case 'f':
		rc = json_check_literal(c, "false");
		break;
	case 'n':
		rc = json_check_literal(c, "null");
		break;
	default:
		rc = json_check_number(c);
	}
	json_check_ws(c);
	return rc;
}

/* 0 when buf[0..len) is exactly one JSON value, possibly with white space. */
static int
json_input_check(const char *buf, size_t len)
{
	struct json_check c = {
		(const unsigned char *)buf, (const unsigned char *)buf + len, 0
	};

	if (json_check_value(&c) == -1)
		return -1;
	return c.p == c.end ? 0 : -1;
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
	if (json_input_check(buf, len) == -1)
		return JSON_INPUT_BAD_JSON;
	/* json-c takes the length as an int. */
	if (len > 64 * 1024 * 1024)
		return JSON_INPUT_BAD_JSON;

	/* json-c counts the innermost value as a level too. */
	tok = json_tokener_new_ex(JSON_INPUT_MAX_DEPTH + 1);
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
