#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "app.h"
#include "jsonw.h"
#include "page.h"
#include "replica.h"

/*
 * The columns of message_page_row (sql/migrations/020_baseline.sql), in
 * order: the rows of api_history_page, api_search_page and message_answer.
 * The header row has a status; when it is 200, sender_id and sender are
 * the caller's id and PublicAccount, receiver_id and receiver the
 * friend's. The message rows leave sender and receiver NULL.
 */
enum page_col {
	PAGE_STATUS, PAGE_BODY, PAGE_TOTAL, PAGE_ID, PAGE_SENDER_ID,
	PAGE_RECEIVER_ID, PAGE_CONTENT, PAGE_MSG_STATUS, PAGE_DELETED,
	PAGE_CREATED, PAGE_UPDATED, PAGE_READ, PAGE_SENDER, PAGE_RECEIVER,
	PAGE_NCOLS,
	/* A single-message answer (message_answer) has the events it
	 * recorded where a page has its total. */
	PAGE_EVENTS = PAGE_TOTAL
};

/* A page holds at most 100 messages of at most 5,000 characters. */
#define PAGE_MAX_BYTES	(8u << 20)

/* Big-endian integers of PostgreSQL's binary format. */
static int64_t
page_int64(const char *p)
{
	uint32_t hi, lo;

	memcpy(&hi, p, 4);
	memcpy(&lo, p + 4, 4);
	return (int64_t)(((uint64_t)ntohl(hi) << 32) | ntohl(lo));
}

static int32_t
page_int32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return (int32_t)ntohl(v);
}

/* Whether column col of row is not NULL and len bytes long (0: any). */
static int
page_has(const PGresult *res, int row, int col, int len)
{
	return !PQgetisnull(res, row, col) &&
	    (len == 0 || PQgetlength(res, row, col) == len);
}

/* Whether a message row has every column of the fixed size it should. */
static int
page_row_ok(const PGresult *res, int row)
{
	return page_has(res, row, PAGE_ID, 16) &&
	    page_has(res, row, PAGE_SENDER_ID, 16) &&
	    page_has(res, row, PAGE_RECEIVER_ID, 16) &&
	    page_has(res, row, PAGE_CONTENT, 0) &&
	    page_has(res, row, PAGE_MSG_STATUS, 0) &&
	    page_has(res, row, PAGE_DELETED, 1) &&
	    page_has(res, row, PAGE_CREATED, 8) &&
	    page_has(res, row, PAGE_UPDATED, 8) &&
	    (PQgetisnull(res, row, PAGE_READ) ||
	     page_has(res, row, PAGE_READ, 8));
}

/* Whether the header of a 200 names both sides. */
static int
page_sides_ok(const PGresult *res, int head)
{
	return page_has(res, head, PAGE_SENDER_ID, 16) &&
	    page_has(res, head, PAGE_RECEIVER_ID, 16) &&
	    page_has(res, head, PAGE_SENDER, 0) &&
	    page_has(res, head, PAGE_RECEIVER, 0);
}

static void
page_value(struct jsonw *w, const PGresult *res, int row, int col)
{
	jsonw_raw(w, PQgetvalue(res, row, col),
	    (size_t)PQgetlength(res, row, col));
}

static void
page_time(struct jsonw *w, const PGresult *res, int row, int col)
{
	if (PQgetisnull(res, row, col))
		jsonw_lit(w, "null");
	else
		jsonw_pg_time(w, page_int64(PQgetvalue(res, row, col)));
}

/*
 * One message: the object of CONTRACT §2, in api_message's key order; its
 * sender and receiver objects from the header row head.
 */
static void
page_message(struct jsonw *w, const PGresult *res, int row, int head)
{
	int from_caller = memcmp(PQgetvalue(res, row, PAGE_SENDER_ID),
	    PQgetvalue(res, head, PAGE_SENDER_ID), 16) == 0;

	jsonw_lit(w, "{\"message_id\":");
	jsonw_uuid(w, (const unsigned char *)PQgetvalue(res, row, PAGE_ID));
	jsonw_lit(w, ",\"sender_id\":");
	jsonw_uuid(w,
	    (const unsigned char *)PQgetvalue(res, row, PAGE_SENDER_ID));
	jsonw_lit(w, ",\"receiver_id\":");
	jsonw_uuid(w,
	    (const unsigned char *)PQgetvalue(res, row, PAGE_RECEIVER_ID));
	jsonw_lit(w, ",\"content\":");
	jsonw_string(w, PQgetvalue(res, row, PAGE_CONTENT),
	    (size_t)PQgetlength(res, row, PAGE_CONTENT));
	jsonw_lit(w, ",\"status\":");
	jsonw_string(w, PQgetvalue(res, row, PAGE_MSG_STATUS),
	    (size_t)PQgetlength(res, row, PAGE_MSG_STATUS));
	if (PQgetvalue(res, row, PAGE_DELETED)[0])
		jsonw_lit(w, ",\"is_deleted\":true,\"created_at\":");
	else
		jsonw_lit(w, ",\"is_deleted\":false,\"created_at\":");
	page_time(w, res, row, PAGE_CREATED);
	jsonw_lit(w, ",\"updated_at\":");
	page_time(w, res, row, PAGE_UPDATED);
	jsonw_lit(w, ",\"read_at\":");
	page_time(w, res, row, PAGE_READ);
	jsonw_lit(w, ",\"sender\":");
	page_value(w, res, head, from_caller ? PAGE_SENDER : PAGE_RECEIVER);
	jsonw_lit(w, ",\"receiver\":");
	page_value(w, res, head, from_caller ? PAGE_RECEIVER : PAGE_SENDER);
	jsonw_lit(w, "}");
}

/*
 * The body of a 200: {"messages": [...], "total", "skip", "limit"}. NULL
 * when a row is not what history_rows and search_rows select, or memory ran out.
 */
static char *
page_body(const PGresult *res, int head, const char *skip, const char *limit)
{
	struct jsonw w;
	int row, first = 1;

	jsonw_init(&w, PAGE_MAX_BYTES);
	jsonw_lit(&w, "{\"messages\":[");
	for (row = 0; row < PQntuples(res); row++) {
		if (row == head)
			continue;
		if (!page_row_ok(res, row)) {
			jsonw_free(&w);
			return NULL;
		}
		if (!first)
			jsonw_lit(&w, ",");
		first = 0;
		page_message(&w, res, row, head);
	}
	jsonw_lit(&w, "],\"total\":");
	jsonw_int(&w, page_int64(PQgetvalue(res, head, PAGE_TOTAL)));
	jsonw_lit(&w, ",\"skip\":");
	jsonw_raw(&w, skip, strlen(skip));
	jsonw_lit(&w, ",\"limit\":");
	jsonw_raw(&w, limit, strlen(limit));
	jsonw_lit(&w, "}");
	return jsonw_take(&w);
}

/* The header row: the one with a status; -1 if there is none. */
static int
page_header(const PGresult *res)
{
	int row;

	for (row = 0; row < PQntuples(res); row++)
		if (page_has(res, row, PAGE_STATUS, 4) &&
		    page_has(res, row, PAGE_TOTAL, 8))
			return row;
	return -1;
}

static void
page_answer(struct reply *rp, const PGresult *res, const char *skip,
    const char *limit)
{
	int head, status;
	char *body;

	if (PQnfields(res) != PAGE_NCOLS || (head = page_header(res)) == -1) {
		reply_internal_error(rp);
		return;
	}
	status = page_int32(PQgetvalue(res, head, PAGE_STATUS));
	if (status != 200) {
		if (page_has(res, head, PAGE_BODY, 0))
			reply_json(rp, status, PQgetvalue(res, head, PAGE_BODY));
		else
			reply_internal_error(rp);
		return;
	}
	body = page_sides_ok(res, head) ? page_body(res, head, skip, limit) :
	    NULL;
	if (body == NULL)
		reply_internal_error(rp);
	else
		reply_take(rp, 200, body);
}

int
page_message_answer(struct reply *rp, const PGresult *res)
{
	struct jsonw w;
	int status;
	char *body;

	if (PQntuples(res) != 1 || PQnfields(res) != PAGE_NCOLS ||
	    !page_has(res, 0, PAGE_STATUS, 4) ||
	    !page_has(res, 0, PAGE_TOTAL, 8)) {
		reply_internal_error(rp);
		return 0;
	}
	status = page_int32(PQgetvalue(res, 0, PAGE_STATUS));
	if (status < 200 || status > 299) {
		if (page_has(res, 0, PAGE_BODY, 0))
			reply_json(rp, status, PQgetvalue(res, 0, PAGE_BODY));
		else
			reply_internal_error(rp);
		return 0;
	}
	if (!page_row_ok(res, 0) || !page_has(res, 0, PAGE_SENDER, 0) ||
	    !page_has(res, 0, PAGE_RECEIVER, 0)) {
		reply_internal_error(rp);
		return 0;
	}
	jsonw_init(&w, PAGE_MAX_BYTES);
	/* Its own header: sender and receiver are the message's. */
	page_message(&w, res, 0, 0);
	if ((body = jsonw_take(&w)) == NULL) {
		reply_internal_error(rp);
		return 0;
	}
	reply_take(rp, status, body);
	return (int)page_int64(PQgetvalue(res, 0, PAGE_EVENTS));
}

void
page_call(struct request *rq, struct reply *rp, struct db_stmt *stmt,
    const char *const *params, const char *skip, const char *limit)
{
	PGresult *res;
	enum db_status st;

	st = replica_run(rq->app, stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else
		page_answer(rp, res, skip, limit);
	PQclear(res);
}
