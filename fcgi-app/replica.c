#include <string.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "replica.h"

/* After a failed connection, the primary serves for so long. */
#define REPLICA_RETRY_SECONDS	2
/*
 * Between two looks at the replica's replay while it is behind: 1 ms,
 * doubled after each look up to 32 ms, so that a replica a few ms behind
 * is seen within a few ms more, and one that stays behind costs about a
 * dozen round trips in replica_wait_ms (200 ms), not one a millisecond.
 */
#define REPLICA_POLL_FIRST_NS	(1000L * 1000)
#define REPLICA_POLL_MAX_NS	(32L * 1000 * 1000)
#define REPLICA_LSN_MAX		32

static struct db_stmt replica_lsn_stmt = DB_STMT("replica_lsn", 0,
    "SELECT pg_current_wal_lsn()");
/* NULL (not a standby) is not caught up: the primary serves. */
static struct db_stmt replica_caught_up_stmt = DB_STMT("replica_caught_up",
    1, "SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)");

static double
replica_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
replica_init(struct app *app)
{
	/* Unnamed: the statements it runs are the primary's too, whose
	 * prepared state each db_stmt records for one connection. */
	db_init(&app->replica, "replica", app->cfg.db_replica_conninfo,
	    DB_UNNAMED);
	app->replica_retry_at = 0;
}

void
replica_close(struct app *app)
{
	db_close(&app->replica);
}

/* The primary's WAL position into lsn: 0, or -1 (the primary will fail). */
static int
replica_primary_lsn(struct app *app, char lsn[REPLICA_LSN_MAX])
{
	PGresult *res;
	int rc = -1;

	if (db_run(&app->db, &replica_lsn_stmt, NULL, &res) == DB_OK &&
	    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) &&
	    (size_t)PQgetlength(res, 0, 0) < REPLICA_LSN_MAX) {
		memcpy(lsn, PQgetvalue(res, 0, 0),
		    (size_t)PQgetlength(res, 0, 0) + 1);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

/* Whether the replica has replayed up to lsn: 1, 0, or -1 (it failed). */
static int
replica_caught_up(struct app *app, const char *lsn)
{
	const char *params[] = { lsn };
	PGresult *res;
	int rc = -1;

	metrics_replica_poll();
	if (db_run(&app->replica, &replica_caught_up_stmt, params, &res) ==
	    DB_OK && PQntuples(res) == 1)
		rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return rc;
}

/*
 * Where the read goes: METRICS_READ_REPLICA when the replica has replayed
 * every write acknowledged so far; -1 when the primary did not answer.
 */
static int
replica_choose(struct app *app)
{
	char lsn[REPLICA_LSN_MAX];
	double now = replica_now(), until, left;
	long pause_ns = REPLICA_POLL_FIRST_NS;
	int caught;

	if (app->replica.conn == NULL && now < app->replica_retry_at)
		return METRICS_READ_UNREACHABLE;
	if (db_check(&app->replica) != DB_OK) {
		app->replica_retry_at = now + REPLICA_RETRY_SECONDS;
		return METRICS_READ_UNREACHABLE;
	}
	if (replica_primary_lsn(app, lsn) == -1)
		return -1;
	until = replica_now() + app->cfg.db_replica_wait_ms / 1000.0;
	while ((caught = replica_caught_up(app, lsn)) == 0) {
		struct timespec pause = { 0, pause_ns };

		if ((left = until - replica_now()) <= 0)
			return METRICS_READ_BEHIND;
		if (left < pause_ns / 1e9)
			pause.tv_nsec = (long)(left * 1e9);
		nanosleep(&pause, NULL);
		if (pause_ns < REPLICA_POLL_MAX_NS)
			pause_ns *= 2;
	}
	return caught == 1 ? METRICS_READ_REPLICA : METRICS_READ_UNREACHABLE;
}

enum db_status
replica_run(struct app *app, struct db_stmt *stmt, const char *const *params,
    PGresult **res)
{
	int where;

	if (app->cfg.db_replica_conninfo[0] == '\0')
		return db_run(&app->db, stmt, params, res);
	where = replica_choose(app);
	if (where == METRICS_READ_REPLICA) {
		if (db_run(&app->replica, stmt, params, res) == DB_OK) {
			metrics_read(METRICS_READ_REPLICA);
			return DB_OK;
		}
		log_info("replica: %s: %s; the primary serves it", stmt->name,
		    *res != NULL ? PQresultErrorMessage(*res) :
		    "connection lost");
		PQclear(*res);
		where = METRICS_READ_UNREACHABLE;
	}
	if (where != -1)
		metrics_read((enum metrics_read)where);
	return db_run(&app->db, stmt, params, res);
}
