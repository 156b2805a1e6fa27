#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fields.h"
#include "json_input.h"
#include "rules.h"

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

/* Records the 422 entry of a value a rule refused; returns -1. */
static int
fields_refused(struct reply *rp, const char *where, const char *name,
    const struct rules_error *e)
{
	reply_invalid(rp, where, name, e->msg, e->type);
	return -1;
}

int
fields_json_body(const struct request *rq, struct reply *rp,
    struct json_object **obj)
{
	struct rules_error e;

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
		rules_refuse(&e, RULES_MISSING, 0);
		return fields_refused(rp, "body", NULL, &e);
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

int
fields_json_string(struct reply *rp, struct json_object *obj,
    const char *name, size_t min, size_t max, enum fields_presence presence,
    const char **value)
{
	struct rules_error e;
	size_t len;

	if (rules_json_string(obj, name, presence == FIELDS_OPTIONAL, value,
	    &len, &e) == -1 || (*value != NULL &&
	    rules_string(*value, len, min, max, &e) == -1))
		return fields_refused(rp, "body", name, &e);
	return 0;
}

int
fields_json_uuid(struct reply *rp, struct json_object *obj, const char *name,
    char out[UUID_TEXT_SIZE])
{
	struct rules_error e;

	if (rules_json_uuid(obj, name, out, &e) == -1)
		return fields_refused(rp, "body", name, &e);
	return 0;
}

int
fields_json_avatar(struct reply *rp, struct json_object *obj,
    const char *name, size_t max, const char **value)
{
	struct rules_error e;

	if (fields_json_string(rp, obj, name, 0, max, FIELDS_OPTIONAL,
	    value) == -1)
		return -1;
	if (*value != NULL && rules_url(*value, &e) == -1)
		return fields_refused(rp, "body", name, &e);
	return 0;
}

int
fields_json_uuid_list(struct reply *rp, struct json_object *obj,
    const char *name, size_t max, int unique, char *literal, size_t *count)
{
	struct rules_error e;

	if (rules_json_uuid_list(obj, name, max, unique, literal, count,
	    &e) == -1)
		return fields_refused(rp, "body", name, &e);
	return 0;
}

int
fields_json_content(struct reply *rp, struct json_object *obj,
    const char *name, const char **value)
{
	struct rules_error e;

	if (rules_json_content(obj, name, value, &e) == -1)
		return fields_refused(rp, "body", name, &e);
	return 0;
}

int
fields_form_string(struct reply *rp, const struct form *form,
    const char *where, const char *name, size_t min, size_t max,
    const char **value)
{
	const struct form_field *f = form_get(form, name);
	struct rules_error e;

	*value = NULL;
	if (f == NULL)
		rules_refuse(&e, RULES_MISSING, 0);
	else if (rules_string(f->value, f->value_len, min, max, &e) == 0) {
		*value = f->value;
		return 0;
	}
	return fields_refused(rp, where, name, &e);
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
fields_page(struct reply *rp, const struct request *rq, long def,
    char skip[24], char limit[24])
{
	long s, l;
	int rc = 0;

	rc |= fields_query_int(rp, rq, "skip", 0, 0, LONG_MAX, &s);
	rc |= fields_query_int(rp, rq, "limit", def, 1, FIELDS_PAGE_MAX, &l);
	snprintf(skip, 24, "%ld", s);
	snprintf(limit, 24, "%ld", l);
	return rc;
}

int
fields_uuid(struct reply *rp, const char *where, const char *name,
    const char *text, char out[UUID_TEXT_SIZE])
{
	struct rules_error e;

	if (rules_uuid(text, out, &e) == -1)
		return fields_refused(rp, where, name, &e);
	return 0;
}

int
fields_idempotency_key(struct reply *rp, const struct request *rq,
    char key[RULES_KEY_MAX + 3])
{
	const char *h = rq->idempotency_key;
	struct rules_error e;

	key[0] = '\0';
	if (h == NULL)
		return 0;
	if (rules_idempotency_key(h, strlen(h), &e) == -1)
		return fields_refused(rp, "header", "Idempotency-Key", &e);
	snprintf(key, RULES_KEY_MAX + 3, "h:%s", h);
	return 0;
}
