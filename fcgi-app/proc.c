#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "fields.h"
#include "log.h"
#include "page.h"
#include "proc.h"
#include "replica.h"

/*
 * The NOTIFY of docs/events.md: $1 names the accounts the events concern
 * (a uuid[]), whose daemons read at once; NULL wakes every daemon.
 */
static struct db_stmt proc_notify_stmt = DB_STMT("proc_notify", 1,
    "SELECT wake_push_daemons($1)");

/* An integer column of our own functions' results. */
static int
proc_int(const char *text)
{
	return (int)strtol(text, NULL, 10);
}

static void
proc_notify(struct db *db, const char *accounts)
{
	const char *params[] = { accounts };
	PGresult *res;

	/* The change is committed; a lost wake-up only delays delivery
	 * until the daemons' next poll, so a failure is just logged. */
	if (db_run(db, &proc_notify_stmt, params, &res) != DB_OK)
		log_warnx("notify: %s", PQresultErrorMessage(res));
	PQclear(res);
}

/* Answers the result of stmt as proc_call() says; returns its events. */
static int
proc_answer(struct reply *rp, const struct db_stmt *stmt, enum db_status st,
    const PGresult *res)
{
	int events = 0;

	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (stmt->flags & DB_BINARY)
		events = page_message_answer(rp, res);
	else if (PQntuples(res) != 1 || PQnfields(res) != 3)
		reply_internal_error(rp);
	else {
		reply_json(rp, proc_int(PQgetvalue(res, 0, 0)),
		    PQgetvalue(res, 0, 1));
		events = proc_int(PQgetvalue(res, 0, 2));
	}
	return events;
}

void
proc_call(struct request *rq, struct reply *rp, struct db_stmt *stmt,
    const char *const *params, const char *wake)
{
	PGresult *res;
	enum db_status st;
	int events;

	st = db_run(&rq->app->db, stmt, params, &res);
	events = proc_answer(rp, stmt, st, res);
	PQclear(res);
	if (events > 0)
		proc_notify(&rq->app->db, wake);
}

void
proc_read(struct request *rq, struct reply *rp, struct db_stmt *stmt,
    const char *const *params)
{
	PGresult *res;
	enum db_status st;

	st = replica_run(rq->app, stmt, params, &res);
	proc_answer(rp, stmt, st, res);
	PQclear(res);
}

void
proc_call_on_id(struct request *rq, struct reply *rp, struct db_stmt *stmt,
    const char *name, const char *extra)
{
	char id[UUID_TEXT_SIZE];
	const char *params[] = { rq->account_id, id, extra };

	if (fields_uuid(rp, "path", name, rq->params[0], id) == 0)
		proc_call(rq, rp, stmt, params, NULL);
}

void
proc_json(struct request *rq, struct reply *rp, struct db_stmt *stmt,
    const char *const *params)
{
	PGresult *res;
	enum db_status st;

	st = db_run(&rq->app->db, stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (PQntuples(res) != 1)
		reply_internal_error(rp);
	else
		reply_json(rp, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
