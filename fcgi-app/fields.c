#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fields.h"
#include "json_input.h"
#include "utf8.h"

int
fields_content_type_is(const struct request *rq, const char *type)
{
	const char *ct = rq->content_type;
	size_t n = strlen(type);

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
fields_json_body(const struct request *rq, struct reply *rp,
    struct json_object **obj)
{
	*obj = NULL;
	if (rq->content_type != NULL &&
	    !fields_content_type_is(rq, "application/json")) {
		reply_invalid(rp, "body", NULL, "Unsupported content type",
		    "type_error.content_type");
		return -1;
	}
	switch (json_input_parse(rq->body, rq->body_len, obj)) {
	case JSON_INPUT_OK:
		return 0;
	case JSON_INPUT_EMPTY:
		reply_invalid(rp, "body", NULL, "field required",
		    "value_error.missing");
		break;
	case JSON_INPUT_BAD_UTF8:
		reply_invalid(rp, "body", NULL, "Invalid UTF-8 in body",
		    "value_error.unicode");
		break;
	case JSON_INPUT_BAD_JSON:
		reply_invalid(rp, "body", NULL, "Invalid JSON body",
		    "value_error.jsondecode");
		break;
	case JSON_INPUT_NOT_OBJECT:
		reply_invalid(rp, "body", NULL, "value is not a valid dict",
		    "type_error.dict");
		break;
	}
	return -1;
}

/* Length and content rules shared by JSON, form and query strings. */
static int
fields_check_string(struct reply *rp, const char *where, const char *name,
    const char *value, size_t len, size_t min, size_t max)
{
	char msg[80];
	size_t chars;

	if (memchr(value, '\0', len) != NULL) {
		reply_invalid(rp, where, name, "string must not contain U+0000",
		    "value_error.str.nul");
		return -1;
	}
	if (!utf8_valid(value, len)) {
		reply_invalid(rp, where, name, "Invalid UTF-8 in string",
		    "value_error.unicode");
		return -1;
	}
	chars = utf8_length(value, len);
	if (chars < min) {
		snprintf(msg, sizeof(msg), "ensure this value has at least "
		    "%zu characters", min);
		reply_invalid(rp, where, name, msg,
		    "value_error.any_str.min_length");
		return -1;
	}
	if (chars > max) {
		snprintf(msg, sizeof(msg), "ensure this value has at most "
		    "%zu characters", max);
		reply_invalid(rp, where, name, msg,
		    "value_error.any_str.max_length");
		return -1;
	}
	return 0;
}

int
fields_json_string(struct reply *rp, struct json_object *obj,
    const char *name, size_t min, size_t max, enum fields_presence presence,
    const char **value)
{
	size_t len = 0;

	*value = NULL;
	switch (json_input_string(obj, name, value, &len)) {
	case JSON_FIELD_OK:
		return fields_check_string(rp, "body", name, *value, len,
		    min, max);
	case JSON_FIELD_MISSING:
		*value = NULL;
		if (presence == FIELDS_OPTIONAL)
			return 0;
		reply_invalid(rp, "body", name, "field required",
		    "value_error.missing");
		return -1;
	case JSON_FIELD_NOT_STRING:
		reply_invalid(rp, "body", name, "str type expected",
		    "type_error.str");
		return -1;
	case JSON_FIELD_HAS_NUL:
		reply_invalid(rp, "body", name,
		    "string must not contain U+0000", "value_error.str.nul");
		return -1;
	}
	return -1;
}

int
fields_json_uuid(struct reply *rp, struct json_object *obj, const char *name,
    char out[UUID_TEXT_SIZE])
{
	const char *text = NULL;
	size_t len;

	switch (json_input_string(obj, name, &text, &len)) {
	case JSON_FIELD_MISSING:
		reply_invalid(rp, "body", name, "field required",
		    "value_error.missing");
		return -1;
	case JSON_FIELD_OK:
		return fields_uuid(rp, "body", name, text, out);
	default:
		return fields_uuid(rp, "body", name, "", out);
	}
}

int
fields_json_content(struct reply *rp, struct json_object *obj,
    const char *name, size_t max, const char **value)
{
	size_t len, start, end;
	char msg[80];

	if (fields_json_string(rp, obj, name, 0, SIZE_MAX, FIELDS_REQUIRED,
	    value) == -1)
		return -1;
	len = strlen(*value);
	utf8_trim(*value, len, &start, &end);
	if (start == end) {
		reply_invalid(rp, "body", name, "ensure this value has at "
		    "least 1 characters", "value_error.any_str.min_length");
		return -1;
	}
	if (utf8_length(*value + start, end - start) > max) {
		snprintf(msg, sizeof(msg), "ensure this value has at most "
		    "%zu characters", max);
		reply_invalid(rp, "body", name, msg,
		    "value_error.any_str.max_length");
		return -1;
	}
	return 0;
}

int
fields_form_string(struct reply *rp, const struct form *form,
    const char *where, const char *name, size_t min, size_t max,
    const char **value)
{
	const struct form_field *f = form_get(form, name);

	*value = NULL;
	if (f == NULL) {
		reply_invalid(rp, where, name, "field required",
		    "value_error.missing");
		return -1;
	}
	if (fields_check_string(rp, where, name, f->value, f->value_len,
	    min, max) == -1)
		return -1;
	*value = f->value;
	return 0;
}

int
fields_query_int(struct reply *rp, const struct request *rq,
    const char *name, long def, long min, long max, long *value)
{
	const struct form_field *f = form_get(&rq->query, name);
	const char *s;
	char msg[80], *end;
	long n;

	*value = def;
	if (f == NULL)
		return 0;
	s = f->value;
	errno = 0;
	n = strtol(s, &end, 10);
	if (s[0] == '\0' || isspace((unsigned char)s[0]) || *end != '\0' ||
	    end != s + f->value_len) {
		reply_invalid(rp, "query", name, "value is not a valid integer",
		    "type_error.integer");
		return -1;
	}
	if (n < min || (errno == ERANGE && n == LONG_MIN)) {
		snprintf(msg, sizeof(msg), "ensure this value is greater "
		    "than or equal to %ld", min);
		reply_invalid(rp, "query", name, msg,
		    "value_error.number.not_ge");
		return -1;
	}
	if (n > max || errno == ERANGE) {
		snprintf(msg, sizeof(msg), "ensure this value is less than "
		    "or equal to %ld", max);
		reply_invalid(rp, "query", name, msg,
		    "value_error.number.not_le");
		return -1;
	}
	*value = n;
	return 0;
}

int
fields_uuid(struct reply *rp, const char *where, const char *name,
    const char *text, char out[UUID_TEXT_SIZE])
{
	if (uuid_normalize(text, out) == 0)
		return 0;
	reply_invalid(rp, where, name, "value is not a valid uuid",
	    "type_error.uuid");
	return -1;
}
