#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "detail.h"
#include "events.h"
#include "frames.h"
#include "hub.h"
#include "idlist.h"
#include "json_input.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "rules.h"

/* Sends in one batch at most; more wait for the next one. */
#define FRAMES_BATCH_MAX	256
/* Sends of one connection in one batch at most: the rest of a busy
 * connection's wait for the next batch, behind no one else's. */
#define FRAMES_BATCH_PER_SESSION	8
/* retry_after of a refusal for too many requests waiting (seconds). */
#define FRAMES_BUSY_RETRY	0.5
/* The longest a connection past a rate limit goes unread at a time. */
#define FRAMES_PAUSE_MAX	1.0
/* A send's idempotency key: "t:" and its temp_id. */
#define FRAMES_KEY_SIZE		(RULES_TEMP_ID_SIZE + 2)
/* Accounts' buckets full again are forgotten this often (seconds). */
#define FRAMES_SWEEP_SECONDS	60

/* A batch of sends, in an order free of deadlocks (push_send_batch). */
static struct pg_stmt frames_send_stmt = PG_STMT("ws_send", 1,
    "SELECT * FROM push_send_batch($1)");
static struct pg_stmt frames_read_stmt = PG_STMT("ws_read", 2,
    "SELECT * FROM api_mark_read($1, $2)");
static struct pg_stmt frames_typing_stmt = PG_STMT("ws_typing", 3,
    "SELECT push_typing($1, $2, $3)");
/* Group requests (CONTRACT §11): one query each, not batched. */
static struct pg_stmt frames_group_send_stmt = PG_STMT("ws_group_send", 4,
    "SELECT * FROM api_group_send($1, $2, $3, $4)");
static struct pg_stmt frames_group_read_stmt = PG_STMT("ws_group_read", 3,
    "SELECT * FROM api_group_read($1, $2, $3)");
static struct pg_stmt frames_group_typing_stmt = PG_STMT("ws_group_typing", 3,
    "SELECT * FROM push_group_typing($1, $2, $3)");

struct frames_req;

/* The limit a request counts against (CONTRACT §12). */
enum frames_bucket {
	FRAMES_SEND,		/* direct and group sends together */
	FRAMES_READ,
	FRAMES_TYPING,
};

/* A request a client may send: 0 when a query took it over, -1 when it
 * was answered already. */
struct frames_type {
	const char		*name;
	int			(*handle)(struct frames_req *,
				    struct json_object *);
	enum frames_bucket	 bucket;
};

/* What a query's answer needs to reach the request's sender. */
struct frames_req {
	struct hub		*hub;
	struct session_ref	 ref;
	/* The group of the per-group URL the request came on ("": the
	 * main URL). */
	char			 group_id[UUID_TEXT_SIZE];
	/* The type as sent (NULL: none), pointing into the frame until
	 * frames_header() accepts it; then the name in the table of
	 * types, as the answer may come after the frame is gone. */
	const char		*type;
	const struct frames_type *kind;
	char			 temp_id[RULES_TEMP_ID_SIZE];
	int			 has_temp_id;
	/* Counted in its session's requests waiting for the database. */
	int			 waiting;

	/* send_message only: what it sends, while it waits for a batch. */
	struct frames_req	*next;
	char			 receiver[UUID_TEXT_SIZE];
	char			*content;
};

/*
 * The sends waiting for a batch. One batch is in flight at a time: sends
 * that arrive meanwhile go together in the next one, so a busy daemon
 * commits many messages per transaction and round trip.
 */
static struct {
	struct frames_req	*head, *tail;
	int			 in_flight;
} frames_waiting;

struct frames_batch {
	struct hub		*hub;
	struct frames_req	*reqs;		/* in order */
};

/*
 * The rates of an account's requests on this daemon (CONTRACT §12), in
 * memory, so that a flood is refused before it reaches the database:
 * typing is limited here only (never stored); sends and mark reads are
 * counted in the database too, across processes (sql/functions/limits.sql).
 */
struct frames_account {
	struct ratelimit_bucket	 send, read, typing;
};

static struct {
	struct idmap		 accounts;	/* account id -> frames_account */
	int			 ready;
	double			 swept_at;
} frames_rates;

static struct pg_stmt frames_limits_stmt = PG_STMT("ws_limits",
    RATELIMIT_NPARAMS, SESSION_CONFIGURE_SQL);

/*
 * The request's type once frames_header() accepted it, else "invalid":
 * the label of its metrics, never the client's own text.
 */
static const char *
frames_type_label(const struct frames_req *req)
{
	return req->kind != NULL ? req->kind->name : "invalid";
}

static void
frames_req_free(struct frames_req *req)
{
	struct session *s;

	if (req->waiting && (s = hub_find(req->hub, &req->ref)) != NULL &&
	    s->waiting > 0)
		s->waiting--;
	free(req->content);
	free(req);
}

/*
 * Refuses req, if its session is still open, with the error frame of
 * CONTRACT §6: {"type": "error", "code", "detail", "message" (detail
 * again, for the original's clients), "request_type" (the type as sent,
 * or null), "temp_id" (when the request had one), "retry_after" (seconds,
 * fractional: a 429's, CONTRACT §12; when retry_after >= 0)}. Every
 * refusal of a request goes out here.
 */
static void
frames_error_retry(const struct frames_req *req, int code, const char *detail,
    double retry_after)
{
	struct session *s = hub_find(req->hub, &req->ref);
	struct json_object *obj;

	metrics_request_refused(frames_type_label(req), code);
	if (s == NULL || (obj = json_object_new_object()) == NULL)
		return;
	json_object_object_add(obj, "type", json_object_new_string("error"));
	json_object_object_add(obj, "code", json_object_new_int(code));
	json_object_object_add(obj, "detail", json_object_new_string(detail));
	json_object_object_add(obj, "message", json_object_new_string(detail));
	json_object_object_add(obj, "request_type", req->type != NULL ?
	    json_object_new_string(req->type) : NULL);
	if (req->has_temp_id)
		json_object_object_add(obj, "temp_id",
		    json_object_new_string(req->temp_id));
	if (retry_after >= 0) {
		char text[32];

		/* Milliseconds, rounded up: never 0, never early. */
		retry_after = (double)(long)(retry_after * 1000 + 0.999) / 1000;
		snprintf(text, sizeof(text), "%.3f", retry_after > 0.001 ?
		    retry_after : 0.001);
		json_object_object_add(obj, "retry_after",
		    json_object_new_double_s(retry_after, text));
	}
	session_send_text(s, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

static void
frames_error(const struct frames_req *req, int code, const char *detail)
{
	frames_error_retry(req, code, detail, -1);
}

/* 422 for member name, refused by a rule: "name: msg". Returns -1. */
static int
frames_invalid(const struct frames_req *req, const char *name,
    const struct rules_error *e)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "%s: %s", name, e->msg);
	frames_error(req, 422, detail);
	return -1;
}

/*
 * A query that did not answer as it should: 503 when the database is out
 * of reach (no result: not connected, or the connection was lost), 500
 * for any other answer.
 */
static void
frames_failed(const struct frames_req *req, const PGresult *res)
{
	if (res == NULL)
		frames_error(req, 503, DETAIL_DB_UNAVAILABLE);
	else
		frames_error(req, 500, DETAIL_INTERNAL);
}

/* The detail of an error body {"detail": "..."} of our SQL functions. */
static void
frames_req_refused(struct frames_req *req, int code, const char *body)
{
	struct json_object *obj = json_tokener_parse(body), *detail, *wait;

	if (obj != NULL && json_object_object_get_ex(obj, "detail", &detail))
		frames_error_retry(req, code, json_object_get_string(detail),
		    json_object_object_get_ex(obj, "retry_after", &wait) ?
		    json_object_get_double(wait) : -1);
	else
		frames_error(req, code, "Request refused");
	json_object_put(obj);
}

/*
 * The status, body and events of an api_* function's answer. Returns 0,
 * or -1 after answering the failure.
 */
static int
frames_result(struct frames_req *req, PGresult *res, int *status,
    const char **body, int *events)
{
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1 || PQnfields(res) != 3) {
		frames_failed(req, res);
		return -1;
	}
	*status = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	*body = PQgetvalue(res, 0, 1);
	*events = (int)strtol(PQgetvalue(res, 0, 2), NULL, 10);
	return 0;
}

/*
 * Answers a send: message_sent {message_id, group_id (a group's message),
 * status, created_at, temp_id?} (CONTRACT §6, §11), or the refusal. The
 * sending connection remembers the id: the message's event is not echoed
 * to it.
 */
static void
frames_reply_sent(struct frames_req *req, int status, const char *body)
{
	struct json_object *msg = NULL, *id, *created, *group, *reply;
	struct session *s;

	if (status != 201) {
		frames_req_refused(req, status, body);
		return;
	}
	s = hub_find(req->hub, &req->ref);
	msg = json_tokener_parse(body);
	if (s == NULL || msg == NULL ||
	    !json_object_object_get_ex(msg, "message_id", &id) ||
	    !json_object_object_get_ex(msg, "created_at", &created) ||
	    (reply = json_object_new_object()) == NULL) {
		json_object_put(msg);
		return;
	}
	session_remember_send(s, json_object_get_string(id));
	json_object_object_add(reply, "type",
	    json_object_new_string("message_sent"));
	json_object_object_add(reply, "message_id", json_object_get(id));
	if (json_object_object_get_ex(msg, "group_id", &group))
		json_object_object_add(reply, "group_id",
		    json_object_get(group));
	json_object_object_add(reply, "status", json_object_new_string("sent"));
	json_object_object_add(reply, "created_at", json_object_get(created));
	if (req->has_temp_id)
		json_object_object_add(reply, "temp_id",
		    json_object_new_string(req->temp_id));
	session_send_text(s, json_object_to_json_string_ext(reply,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(reply);
	json_object_put(msg);
}

static void frames_flush_sends(struct hub *hub);

/* Counts req's send in (1) or out of (-1) its session's sends in flight. */
static void
frames_in_flight(const struct frames_req *req, int step)
{
	struct session *s = hub_find(req->hub, &req->ref);

	if (s != NULL && (step > 0 || s->sends_in_flight > 0))
		s->sends_in_flight += step;
}

/*
 * Whether req's message, stored, is for a session here other than the
 * one that sent it (which had message_sent, and never gets its own
 * message back): the receiver's, or another of the sender's.
 */
static int
frames_concerns_here(struct hub *hub, const struct frames_req *req)
{
	return hub_account_online(hub, req->receiver) ||
	    hub_account_online_besides(hub, &req->ref);
}

static void
frames_batch_sent(void *arg, PGresult *res)
{
	struct frames_batch *b = arg;
	struct frames_req *req, *next;
	/* The senders and receivers of the messages stored. */
	struct idlist sides = IDLIST_EMPTY;
	int i = 0, stored = 0, wake_all = 0, here = 0;
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQnfields(res) == 3;

	for (req = b->reqs; req != NULL; req = next, i++) {
		next = req->next;
		frames_in_flight(req, -1);
		if (!ok || i >= PQntuples(res))
			frames_failed(req, res);
		else {
			frames_reply_sent(req, (int)strtol(PQgetvalue(res, i, 0),
			    NULL, 10), PQgetvalue(res, i, 1));
			if (strcmp(PQgetvalue(res, i, 2), "0") != 0) {
				stored = 1;
				if (idlist_add(&sides, req->ref.account_id) == -1 ||
				    idlist_add(&sides, req->receiver) == -1)
					wake_all = 1;	/* out of memory */
				here = here || frames_concerns_here(b->hub, req);
			}
		}
		frames_req_free(req);
	}
	/* Stored and answered: now the daemons of both sides read (after
	 * the commit, docs/events.md). The others are woken; this one reads
	 * at once when one of its sessions but the senders' own wants a
	 * message, else within 200 ms: the read empties the sessions' lists
	 * of own sends. Event reads that came back meanwhile with these
	 * messages (another wake-up, a deferred read) go out now, after
	 * message_sent told each session its own ids. */
	if (wake_all)
		events_notify(b->hub, NULL);
	else if (stored)
		pg_wake_others(b->hub->pg, b->hub->node_id, idlist_text(&sides));
	idlist_free(&sides);
	PQclear(res);
	frames_waiting.in_flight = 0;
	events_sends_answered(b->hub);
	if (here)
		events_wake(b->hub);
	else if (stored)
		events_soon(b->hub);
	frames_flush_sends(b->hub);
	free(b);
}

/*
 * The idempotency key of a send with a temp_id into key, or NULL without
 * one: an exact repeat of a temp_id is answered, not stored again
 * (CONTRACT §10; the key's space: "t:").
 */
static const char *
frames_send_key(const struct frames_req *req, char key[FRAMES_KEY_SIZE])
{
	if (!req->has_temp_id)
		return NULL;
	snprintf(key, FRAMES_KEY_SIZE, "t:%s", req->temp_id);
	return key;
}

/* The JSON array of push_send_batch() for the batch. */
static char *
frames_batch_json(const struct frames_batch *b)
{
	struct json_object *arr = json_object_new_array();
	char *text = NULL;

	if (arr == NULL)
		return NULL;
	for (const struct frames_req *req = b->reqs; req != NULL;
	    req = req->next) {
		struct json_object *item = json_object_new_object();
		char key[FRAMES_KEY_SIZE];

		if (item == NULL)
			goto done;
		json_object_object_add(item, "sender",
		    json_object_new_string(req->ref.account_id));
		json_object_object_add(item, "receiver",
		    json_object_new_string(req->receiver));
		json_object_object_add(item, "content",
		    json_object_new_string(req->content));
		if (frames_send_key(req, key) != NULL)
			json_object_object_add(item, "key",
			    json_object_new_string(key));
		json_object_array_add(arr, item);
	}
	text = strdup(json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(arr);
	return text;
}

/*
 * Moves the waiting sends of the next batch into b, in order: at most
 * FRAMES_BATCH_PER_SESSION of one connection (its others keep their
 * place for the next batch), so that a connection with a backlog fills
 * no batch, and no one's send waits behind it (CONTRACT §12). Sends of
 * connections closed meanwhile are dropped unanswered: never
 * acknowledged, they need not be stored.
 */
static void
frames_batch_take(struct frames_batch *b)
{
	struct frames_req **from = &frames_waiting.head, **to = &b->reqs;
	struct frames_req *req;
	int n = 0;

	frames_waiting.tail = NULL;
	while ((req = *from) != NULL && n < FRAMES_BATCH_MAX) {
		struct session *s = hub_find(b->hub, &req->ref);

		if (s == NULL) {
			*from = req->next;
			frames_req_free(req);
		} else if (s->sends_in_flight >= FRAMES_BATCH_PER_SESSION) {
			frames_waiting.tail = req;
			from = &req->next;
		} else {
			*from = req->next;
			req->next = NULL;
			frames_in_flight(req, 1);
			*to = req;
			to = &req->next;
			n++;
		}
	}
	/* The tail is the last left behind, or the last not looked at. */
	for (; *from != NULL; from = &(*from)->next)
		frames_waiting.tail = *from;
}

/* Starts a batch of the waiting sends unless one is in flight. */
static void
frames_flush_sends(struct hub *hub)
{
	struct frames_batch *b;
	const char *params[1];
	char *json;

	if (frames_waiting.in_flight || frames_waiting.head == NULL)
		return;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return;
	b->hub = hub;
	frames_batch_take(b);
	if (b->reqs == NULL) {		/* all of closed connections */
		free(b);
		return;
	}
	json = frames_batch_json(b);
	params[0] = json;
	frames_waiting.in_flight = 1;
	if (json == NULL || pg_query(hub->pg, &frames_send_stmt, params,
	    frames_batch_sent, b) == -1)
		frames_batch_sent(b, NULL);
	free(json);
}

/*
 * A mark read or a group typing answered: nothing when done (the sender
 * of a mark hears of it as an event), else the refusal.
 */
static void
frames_done(void *arg, PGresult *res)
{
	struct frames_req *req = arg;
	const char *body;
	int status, events;

	if (frames_result(req, res, &status, &body, &events) == 0) {
		if (events > 0)
			events_notify(req->hub, NULL);
		if (status != 200)
			frames_req_refused(req, status, body);
	}
	PQclear(res);
	frames_req_free(req);
}

static void
frames_typed(void *arg, PGresult *res)
{
	struct frames_req *req = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQntuples(res) != 1)
		frames_failed(req, res);
	else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		frames_error(req, 403, "Not friends with recipient");
	PQclear(res);
	frames_req_free(req);
}

/* Queues the query: 0 when queued (the callback frees req), else -1. */
static int
frames_run(struct frames_req *req, struct pg_stmt *stmt,
    const char *const *params, pg_result_cb cb)
{
	if (pg_query(req->hub->pg, stmt, params, cb, req) == 0)
		return 0;
	frames_failed(req, NULL);
	return -1;
}

/* A UUID member; on failure answers 422 and returns -1. */
static int
frames_uuid(struct frames_req *req, struct json_object *obj, const char *name,
    char out[UUID_TEXT_SIZE])
{
	struct rules_error e;

	if (rules_json_uuid(obj, name, out, &e) == -1)
		return frames_invalid(req, name, &e);
	return 0;
}

/* Returns 0 when a query took over req, -1 when answered already. */
static int
frames_send_message(struct frames_req *req, struct json_object *obj)
{
	char receiver[UUID_TEXT_SIZE];
	const char *content;
	struct rules_error e;

	if (frames_uuid(req, obj, "receiver_id", receiver) == -1)
		return -1;
	if (rules_json_content(obj, "content", &content, &e) == -1)
		return frames_invalid(req, "content", &e);
	if (!pg_connected(req->hub->pg)) {
		frames_failed(req, NULL);
		return -1;
	}
	if ((req->content = strdup(content)) == NULL)
		return -1;
	memcpy(req->receiver, receiver, UUID_TEXT_SIZE);
	if (frames_waiting.tail != NULL)
		frames_waiting.tail->next = req;
	else
		frames_waiting.head = req;
	frames_waiting.tail = req;
	frames_flush_sends(req->hub);
	return 0;
}

/* Returns 0 when a query took over req, -1 when answered already. */
static int
frames_mark_read(struct frames_req *req, struct json_object *obj)
{
	char id[UUID_TEXT_SIZE];
	const char *params[2];

	if (frames_uuid(req, obj, "message_id", id) == -1)
		return -1;
	params[0] = req->ref.account_id;
	params[1] = id;
	return frames_run(req, &frames_read_stmt, params, frames_done);
}

/* is_typing: true when absent, as a bare typing event means it. */
static int
frames_is_typing(struct frames_req *req, struct json_object *obj,
    const char **value)
{
	struct json_object *flag;

	if (json_object_object_get_ex(obj, "is_typing", &flag) &&
	    flag != NULL && !json_object_is_type(flag, json_type_boolean)) {
		frames_error(req, 422, "is_typing: value could not be "
		    "parsed to a boolean");
		return -1;
	}
	*value = flag == NULL || json_object_get_boolean(flag) ? "true" :
	    "false";
	return 0;
}

/* Returns 0 when a query took over req, -1 when answered already. */
static int
frames_typing(struct frames_req *req, struct json_object *obj)
{
	char receiver[UUID_TEXT_SIZE];
	const char *params[3];

	if (frames_uuid(req, obj, "receiver_id", receiver) == -1 ||
	    frames_is_typing(req, obj, &params[2]) == -1)
		return -1;
	params[0] = req->ref.account_id;
	params[1] = receiver;
	return frames_run(req, &frames_typing_stmt, params, frames_typed);
}

/*
 * The group a request names: its group_id member on the main URL, the
 * group of the per-group URL it came on. On failure answers 422 and
 * returns -1.
 */
static int
frames_group_of(struct frames_req *req, struct json_object *obj,
    char gid[UUID_TEXT_SIZE])
{
	if (req->group_id[0] != '\0') {
		memcpy(gid, req->group_id, UUID_TEXT_SIZE);
		return 0;
	}
	return frames_uuid(req, obj, "group_id", gid);
}

/* A group send answered: as a send of a batch. */
static void
frames_group_sent(void *arg, PGresult *res)
{
	struct frames_req *req = arg;
	const char *body;
	int status, events;

	frames_in_flight(req, -1);
	if (frames_result(req, res, &status, &body, &events) == 0) {
		if (events > 0)
			events_notify(req->hub, NULL);
		frames_reply_sent(req, status, body);
	}
	PQclear(res);
	/* Event reads held back for this send's answer go out now. */
	events_sends_answered(req->hub);
	frames_req_free(req);
}

/* send_group_message {group_id, content, temp_id?}, and send_message
 * {content} on the per-group URL. */
static int
frames_send_group_message(struct frames_req *req, struct json_object *obj)
{
	char gid[UUID_TEXT_SIZE], key[FRAMES_KEY_SIZE];
	const char *content, *params[4];
	struct rules_error e;

	if (frames_group_of(req, obj, gid) == -1)
		return -1;
	if (rules_json_content(obj, "content", &content, &e) == -1)
		return frames_invalid(req, "content", &e);
	params[0] = req->ref.account_id;
	params[1] = gid;
	params[2] = content;
	params[3] = frames_send_key(req, key);
	/* In flight until answered: an event read meanwhile that brings
	 * the message waits, so that this connection is not sent it. */
	frames_in_flight(req, 1);
	if (frames_run(req, &frames_group_send_stmt, params,
	    frames_group_sent) == -1) {
		frames_in_flight(req, -1);
		return -1;
	}
	return 0;
}

/* mark_group_read {group_id, message_id}. */
static int
frames_mark_group_read(struct frames_req *req, struct json_object *obj)
{
	char gid[UUID_TEXT_SIZE], id[UUID_TEXT_SIZE];
	const char *params[3];

	if (frames_group_of(req, obj, gid) == -1 ||
	    frames_uuid(req, obj, "message_id", id) == -1)
		return -1;
	params[0] = req->ref.account_id;
	params[1] = gid;
	params[2] = id;
	return frames_run(req, &frames_group_read_stmt, params,
	    frames_done);
}

/* group_typing {group_id, is_typing}, and typing {is_typing} on the
 * per-group URL. */
static int
frames_group_typing(struct frames_req *req, struct json_object *obj)
{
	char gid[UUID_TEXT_SIZE];
	const char *params[3];

	if (frames_group_of(req, obj, gid) == -1 ||
	    frames_is_typing(req, obj, &params[2]) == -1)
		return -1;
	params[0] = req->ref.account_id;
	params[1] = gid;
	return frames_run(req, &frames_group_typing_stmt, params,
	    frames_done);
}

/* The requests of the main URL (CONTRACT §6, §11). */
static const struct frames_type frames_types[] = {
	{ "send_message", frames_send_message, FRAMES_SEND },
	{ "mark_read", frames_mark_read, FRAMES_READ },
	{ "typing", frames_typing, FRAMES_TYPING },
	{ "send_group_message", frames_send_group_message, FRAMES_SEND },
	{ "mark_group_read", frames_mark_group_read, FRAMES_READ },
	{ "group_typing", frames_group_typing, FRAMES_TYPING },
};
#define FRAMES_NTYPES	(sizeof(frames_types) / sizeof(frames_types[0]))

/* The requests of the per-group URL, as the original's client sends them. */
static const struct frames_type frames_group_types[] = {
	{ "send_message", frames_send_group_message, FRAMES_SEND },
	{ "typing", frames_group_typing, FRAMES_TYPING },
};
#define FRAMES_NGROUP_TYPES \
	(sizeof(frames_group_types) / sizeof(frames_group_types[0]))

/*
 * Reads the type and temp_id of the request into req; answers and returns
 * -1 when they are not what CONTRACT §6 allows.
 */
static int
frames_header(struct frames_req *req, struct json_object *obj)
{
	const struct frames_type *table;
	const char *type, *temp_id;
	size_t len, n;
	struct rules_error e;

	/* request_type: the type as sent, when it is a string at all. */
	if (json_input_string(obj, "type", &type, &len) == JSON_FIELD_OK)
		req->type = type;
	if (rules_json_temp_id(obj, &temp_id, &len, &e) == -1)
		return frames_invalid(req, "temp_id", &e);
	if (temp_id != NULL) {
		memcpy(req->temp_id, temp_id, len + 1);
		req->has_temp_id = 1;
	}
	if (req->type == NULL) {
		rules_refuse(&e, RULES_MISSING, 0);
		return frames_invalid(req, "type", &e);
	}
	/* The per-group URL takes the original's two requests only. */
	table = req->group_id[0] != '\0' ? frames_group_types : frames_types;
	n = req->group_id[0] != '\0' ? FRAMES_NGROUP_TYPES : FRAMES_NTYPES;
	for (size_t i = 0; i < n; i++)
		if (strcmp(req->type, table[i].name) == 0) {
			req->kind = &table[i];
			req->type = table[i].name;
			return 0;
		}
	frames_error(req, 422, "Unknown message type");
	return -1;
}

/* The buckets of account_id, made on first use; NULL out of memory. */
static struct frames_account *
frames_account(const char *account_id)
{
	struct frames_account *a;

	if (!frames_rates.ready) {
		if (idmap_init(&frames_rates.accounts) == -1)
			return NULL;
		frames_rates.ready = 1;
	}
	if ((a = idmap_get(&frames_rates.accounts, account_id)) != NULL)
		return a;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (idmap_put(&frames_rates.accounts, account_id, a) == -1) {
		free(a);
		return NULL;
	}
	return a;
}

/*
 * CONTRACT §12 before anything reaches the database: the connection's
 * requests waiting for the database (at most push.max_waiting_requests),
 * then the account's rate of the request's type. Past either, answers
 * 429 with retry_after and returns -1; else counts req as waiting. Past
 * the rate, it also reads nothing more of the connection until then (at
 * most FRAMES_PAUSE_MAX seconds at a time, so that its pings and close
 * still come through): a flood waits in the flooder's socket, not in this
 * loop. Past the waiting requests, every frame gets its 429 at once
 * (CONTRACT §12).
 */
static int
frames_admit(struct frames_req *req, struct session *s)
{
	const struct config *cfg = s->hub->cfg;
	struct frames_account *a;
	struct ratelimit_bucket *b;
	double rate, burst, wait;

	if (s->waiting >= cfg->push_max_waiting_requests) {
		frames_error_retry(req, 429, DETAIL_TOO_MANY_WAITING,
		    FRAMES_BUSY_RETRY);
		return -1;
	}
	if ((a = frames_account(s->account_id)) != NULL) {
		switch (req->kind->bucket) {
		case FRAMES_SEND:
			b = &a->send;
			rate = cfg->limits_send_per_second;
			burst = cfg->limits_send_burst;
			break;
		case FRAMES_READ:
			b = &a->read;
			rate = cfg->limits_read_per_second;
			burst = cfg->limits_read_burst;
			break;
		default:
			b = &a->typing;
			rate = cfg->limits_typing_per_second;
			burst = cfg->limits_typing_burst;
			break;
		}
		wait = ratelimit_take(b, rate, burst, ratelimit_now());
		if (wait > 0) {
			frames_error_retry(req, 429, DETAIL_RATE_LIMITED, wait);
			session_pause_reading(s, wait < FRAMES_PAUSE_MAX ? wait :
			    FRAMES_PAUSE_MAX);
			return -1;
		}
	}
	req->waiting = 1;
	s->waiting++;
	return 0;
}

/* Whether an account's buckets are all full again: nothing to remember. */
static int
frames_account_idle(void *value, void *arg)
{
	struct frames_account *a = value;
	const struct config *cfg = ((struct hub *)arg)->cfg;
	double now = ratelimit_now();

	if (!ratelimit_full(&a->send, cfg->limits_send_per_second,
	    cfg->limits_send_burst, now) ||
	    !ratelimit_full(&a->read, cfg->limits_read_per_second,
	    cfg->limits_read_burst, now) ||
	    !ratelimit_full(&a->typing, cfg->limits_typing_per_second,
	    cfg->limits_typing_burst, now))
		return 0;
	free(a);
	return 1;
}

static int
frames_account_drop(void *value, void *arg)
{
	(void)arg;
	free(value);
	return 1;
}

void
frames_tick(struct hub *hub)
{
	double now = ratelimit_now();

	if (!frames_rates.ready || now - frames_rates.swept_at <
	    FRAMES_SWEEP_SECONDS)
		return;
	frames_rates.swept_at = now;
	idmap_sweep(&frames_rates.accounts, frames_account_idle, hub);
}

void
frames_connected(struct hub *hub)
{
	char buf[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE];
	const char *params[RATELIMIT_NPARAMS];

	ratelimit_params(hub->cfg, buf, params);
	if (pg_query(hub->pg, &frames_limits_stmt, params, pg_ignore,
	    NULL) == -1)
		log_warnx("rate limits: not given to the database session");
}

void
frames_free(void)
{
	if (!frames_rates.ready)
		return;
	idmap_sweep(&frames_rates.accounts, frames_account_drop, NULL);
	idmap_free(&frames_rates.accounts);
	frames_rates.ready = 0;
}

void
frames_handle(struct session *s, const char *text, size_t len)
{
	struct json_object *obj = NULL;
	struct frames_req *req;
	int rc;

	if ((req = calloc(1, sizeof(*req))) == NULL)
		return;
	req->hub = s->hub;
	session_ref(s, &req->ref);
	memcpy(req->group_id, s->group_id, UUID_TEXT_SIZE);
	if (json_input_parse(text, len, &obj) != JSON_INPUT_OK) {
		frames_error(req, 422, "Invalid JSON: one JSON object expected");
		rc = -1;
	} else
		rc = frames_header(req, obj);
	metrics_frame_in(frames_type_label(req));
	if (rc == 0)
		rc = frames_admit(req, s);
	if (rc == 0)
		rc = req->kind->handle(req, obj);
	if (rc == -1)
		frames_req_free(req);
	json_object_put(obj);
}
