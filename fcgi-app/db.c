#include <poll.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"

/* The last generation given to a connection of this process. */
static unsigned int db_generation;

void
db_init(struct db *db, const char *label, const char *conninfo, int flags)
{
	memset(db, 0, sizeof(*db));
	db->label = label;
	db->conninfo = conninfo;
	db->flags = flags;
}

void
db_on_connect(struct db *db, db_connected_fn fn, void *arg)
{
	db->connected = fn;
	db->connected_arg = arg;
}

void
db_close(struct db *db)
{
	if (db->conn != NULL)
		PQfinish(db->conn);
	db->conn = NULL;
}

static enum db_status
db_connect(struct db *db)
{
	db_close(db);
	db->conn = PQconnectdb(db->conninfo);
	PQsetNoticeProcessor(db->conn, log_db_notice, NULL);
	if (PQstatus(db->conn) != CONNECTION_OK) {
		/* The message names the server, never a password. */
		log_warnx("%s: %s", db->label, PQerrorMessage(db->conn));
		db_close(db);
		metrics_db_error(METRICS_DB_CONNECT);
		return DB_UNAVAILABLE;
	}
	db->gen = ++db_generation;
	log_info("%s: connected", db->label);
	if (db->connected != NULL)
		db->connected(db, db->connected_arg);
	return db->conn != NULL ? DB_OK : DB_UNAVAILABLE;
}

/*
 * Between requests the server has nothing to say to us: a readable socket
 * means it closed the connection or is about to (a restart, a terminated
 * backend), so the connection is replaced rather than trusted.
 */
static int
db_went_away(struct db *db)
{
	struct pollfd pfd = { .fd = PQsocket(db->conn), .events = POLLIN };

	if (PQstatus(db->conn) != CONNECTION_OK || pfd.fd < 0)
		return 1;
	return poll(&pfd, 1, 0) != 0;
}

enum db_status
db_check(struct db *db)
{
	if (db->conn != NULL && !db_went_away(db))
		return DB_OK;
	return db_connect(db);
}

static enum db_status
db_failure(struct db *db, PGresult *res)
{
	if (PQstatus(db->conn) != CONNECTION_OK) {
		log_warnx("%s: connection lost: %s", db->label,
		    PQerrorMessage(db->conn));
		db_close(db);
		metrics_db_error(METRICS_DB_LOST);
		return DB_UNAVAILABLE;
	}
	if (res == NULL) {
		metrics_db_error(METRICS_DB_LOST);
		return DB_UNAVAILABLE;
	}
	metrics_db_error(METRICS_DB_STATEMENT);
	return DB_FAILED;
}

static enum db_status
db_prepare(struct db *db, struct db_stmt *stmt)
{
	PGresult *res;
	enum db_status st = DB_OK;

	if (stmt->prepared_gen == db->gen)
		return DB_OK;
	res = PQprepare(db->conn, stmt->name, stmt->sql, stmt->nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		st = db_failure(db, res);
		if (st == DB_FAILED)
			log_errorx("%s: prepare %s: %s", db->label,
			    stmt->name, PQresultErrorMessage(res));
	} else
		stmt->prepared_gen = db->gen;
	PQclear(res);
	return st;
}

enum db_status
db_run(struct db *db, struct db_stmt *stmt, const char *const *params,
    PGresult **res)
{
	enum db_status st;

	*res = NULL;
	if ((st = db_check(db)) != DB_OK)
		return st;
	if (db->flags & DB_UNNAMED)
		*res = PQexecParams(db->conn, stmt->sql, stmt->nparams, NULL,
		    params, NULL, NULL, (stmt->flags & DB_BINARY) != 0);
	else {
		if ((st = db_prepare(db, stmt)) != DB_OK)
			return st;
		*res = PQexecPrepared(db->conn, stmt->name, stmt->nparams,
		    params, NULL, NULL, (stmt->flags & DB_BINARY) != 0);
	}
	switch (PQresultStatus(*res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		return DB_OK;
	default:
		st = db_failure(db, *res);
		if (st == DB_FAILED)
			log_debug("%s: %s: %s", db->label, stmt->name,
			    PQresultErrorMessage(*res));
		return st;
	}
}

const char *
db_sqlstate(const PGresult *res)
{
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return state != NULL ? state : "";
}
