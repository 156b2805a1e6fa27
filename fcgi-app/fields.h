/*
 * Input validation for handlers. Each function checks one input by the
 * rules of shared/rules.c, records a 422 entry in the reply when it is
 * invalid (the messages of docs/API.md), and returns 0 when valid or -1
 * when not; handlers check every field, then stop if reply_has_invalid().
 */
#ifndef CHAT_FIELDS_H
#define CHAT_FIELDS_H

#include <stddef.h>

#include <json-c/json.h>

#include "form.h"
#include "reply.h"
#include "request.h"
#include "rules.h"
#include "uuid.h"

/* Pages (CONTRACT §1): limit 1..FIELDS_PAGE_MAX, 50 by default for
 * messages; a search keyword, in characters. */
#define FIELDS_PAGE_DEFAULT	50
#define FIELDS_PAGE_MAX		100
#define FIELDS_KEYWORD_MAX	200

enum fields_presence {
	FIELDS_OPTIONAL,
	FIELDS_REQUIRED,
};

/* The request body as a JSON object; *obj is to be put by the caller. */
int	fields_json_body(const struct request *rq, struct reply *rp,
	    struct json_object **obj);

/*
 * A string member of a JSON body of min..max characters. *value is NULL
 * when an optional member is absent or null.
 */
int	fields_json_string(struct reply *rp, struct json_object *obj,
	    const char *name, size_t min, size_t max,
	    enum fields_presence presence, const char **value);

/* A UUID member of a JSON body; out receives it in lowercase. */
int	fields_json_uuid(struct reply *rp, struct json_object *obj,
	    const char *name, char out[UUID_TEXT_SIZE]);

/*
 * An avatar, a URL of at most max characters (rules_url); *value is NULL
 * when absent or null.
 */
int	fields_json_avatar(struct reply *rp, struct json_object *obj,
	    const char *name, size_t max, const char **value);

/*
 * A list of at most max UUIDs (rules_json_uuid_list); literal receives
 * it as a uuid[] literal, RULES_UUID_LIST_SIZE(max) bytes.
 */
int	fields_json_uuid_list(struct reply *rp, struct json_object *obj,
	    const char *name, size_t max, int unique, char *literal,
	    size_t *count);

/* Message content (CONTRACT §5, rules_json_content); *value is as sent. */
int	fields_json_content(struct reply *rp, struct json_object *obj,
	    const char *name, const char **value);

/* A field of a form or query string: where is "body" or "query". */
int	fields_form_string(struct reply *rp, const struct form *form,
	    const char *where, const char *name, size_t min, size_t max,
	    const char **value);

/* An integer query parameter within min..max, def when absent. */
int	fields_query_int(struct reply *rp, const struct request *rq,
	    const char *name, long def, long min, long max, long *value);

/*
 * The skip (>= 0, 0 by default) and limit (1..FIELDS_PAGE_MAX, def by
 * default) of a page, as decimal text for a statement.
 */
int	fields_page(struct reply *rp, const struct request *rq, long def,
	    char skip[24], char limit[24]);

/* A UUID found at loc [where, name]; out receives it in lowercase. */
int	fields_uuid(struct reply *rp, const char *where, const char *name,
	    const char *text, char out[UUID_TEXT_SIZE]);

/*
 * The Idempotency-Key header (CONTRACT §10), absent (key "") or valid:
 * key receives "h:" and the key, the send's key in the database.
 */
int	fields_idempotency_key(struct reply *rp, const struct request *rq,
	    char key[RULES_KEY_MAX + 3]);

/* Whether the Content-Type is type (parameters after ';' ignored). */
int	fields_content_type_is(const struct request *rq, const char *type);

#endif
