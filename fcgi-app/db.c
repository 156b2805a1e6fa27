#include <poll.h>
#include <string.h>

#include "db.h"
#include "log.h"

void
db_init(struct db *db, const char *conninfo)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
}

void
db_setup(struct db *db, const char *sql, const char *const *params,
    int nparams)
{
	db->setup_sql = sql;
	db->setup_params = params;
	db->setup_nparams = nparams;
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
		log_warnx("database: %s", PQerrorMessage(db->conn));
		db_close(db);
		return DB_UNAVAILABLE;
	}
	db->gen++;
	log_info("database: connected");
	if (db->setup_sql != NULL) {
		PGresult *res = PQexecParams(db->conn, db->setup_sql,
		    db->setup_nparams, NULL, db->setup_params, NULL, NULL, 0);

		if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		    PQresultStatus(res) != PGRES_COMMAND_OK)
			log_warnx("database: setup: %s",
			    PQresultErrorMessage(res));
		PQclear(res);
	}
	return DB_OK;
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
		log_warnx("database: connection lost: %s",
		    PQerrorMessage(db->conn));
		db_close(db);
		return DB_UNAVAILABLE;
	}
	if (res == NULL)
		return DB_UNAVAILABLE;
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
			log_errorx("database: prepare %s: %s", stmt->name,
			    PQresultErrorMessage(res));
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
	if ((st = db_prepare(db, stmt)) != DB_OK)
		return st;
	*res = PQexecPrepared(db->conn, stmt->name, stmt->nparams, params,
	    NULL, NULL, (stmt->flags & DB_BINARY) != 0);
	switch (PQresultStatus(*res)) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		return DB_OK;
	default:
		st = db_failure(db, *res);
		if (st == DB_FAILED)
			log_debug("database: %s: %s", stmt->name,
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
