#include <stdio.h>

#include "app.h"
#include "chat.h"
#include "fields.h"
#include "json_input.h"
#include "page.h"
#include "proc.h"

/* GET /sync (CONTRACT §10): events a page, and the longest cursor. */
#define CHAT_SYNC_DEFAULT	100
#define CHAT_SYNC_MAX		1000
#define CHAT_CURSOR_MAX		64

static struct db_stmt chat_send_stmt = DB_STMT_FLAGS("chat_send", 4,
    DB_BINARY, "SELECT * FROM api_send_message_row($1, $2, $3, $4)");
static struct db_stmt chat_history_stmt = DB_STMT_FLAGS("chat_history", 4,
    DB_BINARY, "SELECT * FROM api_history_page($1, $2, $3, $4)");
static struct db_stmt chat_search_stmt = DB_STMT_FLAGS("chat_search", 5,
    DB_BINARY, "SELECT * FROM api_search_page($1, $2, $3, $4, $5)");
static struct db_stmt chat_read_stmt = DB_STMT_FLAGS("chat_read", 2,
    DB_BINARY, "SELECT * FROM api_mark_read_row($1, $2)");
static struct db_stmt chat_delete_stmt = DB_STMT("chat_delete", 2,
    "SELECT * FROM api_delete_message($1, $2)");
static struct db_stmt chat_unread_stmt = DB_STMT("chat_unread", 1,
    "SELECT api_unread_count($1)");
static struct db_stmt chat_sync_stmt = DB_STMT("chat_sync", 3,
    "SELECT * FROM api_sync($1, $2, $3)");
static struct db_stmt chat_online_stmt = DB_STMT("chat_online", 2,
    "SELECT api_online_friends($1, $2)");

void
chat_send(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	const char *content = NULL;
	char id[UUID_TEXT_SIZE], key[RULES_KEY_MAX + 3];

	if (fields_json_body(rq, rp, &obj) == 0) {
		fields_json_uuid(rp, obj, "receiver_id", id);
		fields_json_content(rp, obj, "content", &content);
	}
	fields_idempotency_key(rp, rq, key);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, id, content,
		    key[0] != '\0' ? key : NULL };
		/* Its one event concerns the two sides only. */
		char wake[2 * UUID_TEXT_SIZE + 3];

		snprintf(wake, sizeof(wake), "{%s,%s}", rq->account_id, id);
		proc_call(rq, rp, &chat_send_stmt, params, wake);
	}
	json_object_put(obj);
}

void
chat_history(struct request *rq, struct reply *rp)
{
	char id[UUID_TEXT_SIZE], skip[24], limit[24];
	const char *params[] = { rq->account_id, id, skip, limit };

	fields_uuid(rp, "path", "friend_id", rq->params[0], id);
	fields_page(rp, rq, FIELDS_PAGE_DEFAULT, skip, limit);
	if (!reply_has_invalid(rp))
		page_call(rq, rp, &chat_history_stmt, params, skip, limit);
}

void
chat_search(struct request *rq, struct reply *rp)
{
	char id[UUID_TEXT_SIZE], skip[24], limit[24];
	const char *keyword = NULL;

	fields_uuid(rp, "path", "friend_id", rq->params[0], id);
	fields_form_string(rp, &rq->query, "query", "keyword", 1,
	    FIELDS_KEYWORD_MAX, &keyword);
	fields_page(rp, rq, FIELDS_PAGE_DEFAULT, skip, limit);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, id, keyword, skip,
		    limit };

		page_call(rq, rp, &chat_search_stmt, params, skip, limit);
	}
}

void
chat_mark_read(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &chat_read_stmt, "message_id", NULL);
}

void
chat_delete(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &chat_delete_stmt, "message_id", NULL);
}

void
chat_unread_count(struct request *rq, struct reply *rp)
{
	const char *params[] = { rq->account_id };

	proc_json(rq, rp, &chat_unread_stmt, params);
}

void
chat_online_friends(struct request *rq, struct reply *rp)
{
	char timeout[16];
	const char *params[] = { rq->account_id, timeout };

	snprintf(timeout, sizeof(timeout), "%d",
	    rq->app->cfg.presence_timeout_seconds);
	proc_json(rq, rp, &chat_online_stmt, params);
}

/*
 * GET /sync: the caller's events after since. Whether since is a cursor,
 * and one not expired, api_sync finds; the messages it hands out to their
 * receiver become delivered, which wakes the daemons (their senders).
 */
void
chat_sync(struct request *rq, struct reply *rp)
{
	const char *since = NULL;
	char limit[24];
	long l;

	fields_form_string(rp, &rq->query, "query", "since", 1,
	    CHAT_CURSOR_MAX, &since);
	fields_query_int(rp, rq, "limit", CHAT_SYNC_DEFAULT, 1, CHAT_SYNC_MAX,
	    &l);
	snprintf(limit, sizeof(limit), "%ld", l);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, since, limit };

		proc_call(rq, rp, &chat_sync_stmt, params, NULL);
	}
}
