#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "ratelimit.h"
#include "log.h"
#include "reply.h"
#include "request.h"

#define REPLY_ALLOW_HEADERS_MAX	512

static const struct {
	int		 status;
	const char	*reason;
} reply_reasons[] = {
	{ 200, "OK" },
	{ 201, "Created" },
	{ 204, "No Content" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 413, "Payload Too Large" },
	{ 422, "Unprocessable Entity" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 503, "Service Unavailable" },
};

static const char *
reply_reason(int status)
{
	for (size_t i = 0; i < sizeof(reply_reasons) /
	    sizeof(reply_reasons[0]); i++)
		if (reply_reasons[i].status == status)
			return reply_reasons[i].reason;
	return "Unknown";
}

void
reply_init(struct reply *rp)
{
	memset(rp, 0, sizeof(*rp));
	rp->status = 500;
}

void
reply_free(struct reply *rp)
{
	free(rp->body);
	json_object_put(rp->invalid);
	memset(rp, 0, sizeof(*rp));
}

void
reply_json(struct reply *rp, int status, const char *json)
{
	free(rp->body);
	rp->body = strdup(json);
	rp->status = rp->body != NULL ? status : 500;
}

void
reply_take(struct reply *rp, int status, char *body)
{
	free(rp->body);
	rp->body = body;
	rp->status = status;
}

void
reply_object(struct reply *rp, int status, struct json_object *obj)
{
	if (obj == NULL) {
		reply_internal_error(rp);
		return;
	}
	reply_json(rp, status, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

void
reply_error(struct reply *rp, int status, const char *detail)
{
	struct json_object *obj = json_object_new_object();

	if (obj != NULL)
		json_object_object_add(obj, "detail",
		    json_object_new_string(detail));
	reply_object(rp, status, obj);
}

void
reply_internal_error(struct reply *rp)
{
	reply_error(rp, 500, DETAIL_INTERNAL);
}

void
reply_db_error(struct reply *rp, enum db_status st)
{
	if (st == DB_UNAVAILABLE)
		reply_error(rp, 503, DETAIL_DB_UNAVAILABLE);
	else
		reply_internal_error(rp);
}

void
reply_invalid(struct reply *rp, const char *where, const char *name,
    const char *msg, const char *type)
{
	struct json_object *entry, *loc;

	if (rp->invalid == NULL)
		rp->invalid = json_object_new_array();
	entry = json_object_new_object();
	loc = json_object_new_array();
	if (rp->invalid == NULL || entry == NULL || loc == NULL) {
		json_object_put(entry);
		json_object_put(loc);
		return;
	}
	json_object_array_add(loc, json_object_new_string(where));
	if (name != NULL)
		json_object_array_add(loc, json_object_new_string(name));
	json_object_object_add(entry, "loc", loc);
	json_object_object_add(entry, "msg", json_object_new_string(msg));
	json_object_object_add(entry, "type", json_object_new_string(type));
	json_object_array_add(rp->invalid, entry);
}

int
reply_has_invalid(const struct reply *rp)
{
	return rp->invalid != NULL;
}

/* The 422 list becomes the body once the handler is done. */
static void
reply_finish_invalid(struct reply *rp)
{
	struct json_object *obj;

	if (rp->invalid == NULL)
		return;
	obj = json_object_new_object();
	if (obj != NULL) {
		json_object_object_add(obj, "detail", rp->invalid);
		rp->invalid = NULL;
	}
	reply_object(rp, 422, obj);
}

/* Echo only a plain list of header names: nothing that could split a line. */
static const char *
reply_cors_headers(const struct request *rq)
{
	const char *h = rq->cors_headers;

	if (h == NULL || strlen(h) > REPLY_ALLOW_HEADERS_MAX ||
	    h[strspn(h, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_, ")] != '\0')
		return "Authorization, Content-Type";
	return h;
}

/* One header line; libfcgi's own printf knows too few formats to trust. */
static void
reply_header(FCGX_Stream *out, const char *name, const char *value)
{
	FCGX_PutS(name, out);
	FCGX_PutS(": ", out);
	FCGX_PutS(value, out);
	FCGX_PutS("\r\n", out);
}

static void
reply_send_cors(const struct reply *rp, const struct request *rq,
    FCGX_Stream *out)
{
	if (!rq->cors_allowed)
		return;
	reply_header(out, "Access-Control-Allow-Origin", rq->origin);
	reply_header(out, "Access-Control-Allow-Credentials", "true");
	reply_header(out, "Vary", "Origin");
	if (!rp->preflight)
		return;
	reply_header(out, "Access-Control-Allow-Methods",
	    "DELETE, GET, OPTIONS, POST, PUT");
	reply_header(out, "Access-Control-Allow-Headers",
	    reply_cors_headers(rq));
	reply_header(out, "Access-Control-Max-Age", "600");
}

/*
 * A 429's Retry-After (CONTRACT §12): whole seconds, rounded up, of the
 * body's retry_after (sql/functions/limits.sql's rate_body makes them).
 */
static void
reply_send_retry_after(const struct reply *rp, FCGX_Stream *out)
{
	struct json_object *obj = json_tokener_parse(rp->body), *wait;
	double seconds = 1;
	char line[24];

	if (obj != NULL && json_object_object_get_ex(obj, "retry_after",
	    &wait))
		seconds = json_object_get_double(wait);
	json_object_put(obj);
	snprintf(line, sizeof(line), "%ld", ratelimit_retry_after_header(seconds));
	reply_header(out, "Retry-After", line);
}

void
reply_send(struct reply *rp, const struct request *rq)
{
	FCGX_Stream *out = rq->fcgx->out;
	char line[64];
	size_t len;

	reply_finish_invalid(rp);
	if (rp->body == NULL && rp->status != 204)
		reply_internal_error(rp);
	if (rp->status == 500)
		log_errorx("%s: answered %d", rq->method, rp->status);
	else if (rp->status > 500)
		log_warnx("%s: answered %d", rq->method, rp->status);

	snprintf(line, sizeof(line), "%d %s", rp->status,
	    reply_reason(rp->status));
	reply_header(out, "Status", line);
	reply_send_cors(rp, rq, out);
	if (rp->status == 401)
		reply_header(out, "WWW-Authenticate", "Bearer");
	if (rp->status == 405)
		reply_header(out, "Allow", rp->allow);
	if (rp->status == 429)
		reply_send_retry_after(rp, out);
	if (rp->status == 204) {
		FCGX_PutS("\r\n", out);
		return;
	}
	len = strlen(rp->body);
	snprintf(line, sizeof(line), "%zu", len);
	reply_header(out, "Content-Type", "application/json");
	reply_header(out, "Content-Length", line);
	FCGX_PutS("\r\n", out);
	FCGX_PutStr(rp->body, (int)len, out);
}
