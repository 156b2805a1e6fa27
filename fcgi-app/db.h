/*
 * The FastCGI process's one database connection. Statements are prepared on
 * first use and again after every reconnection; every query is a prepared
 * statement with parameters, never SQL built from input.
 */
#ifndef CHAT_DB_H
#define CHAT_DB_H

#include <libpq-fe.h>

struct db_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	int		 flags;		/* DB_BINARY */
	unsigned int	 prepared_gen;	/* db generation it was prepared in */
};

/* Results in PostgreSQL's binary format. */
#define DB_BINARY	0x1

#define DB_STMT(name, nparams, sql)	{ name, sql, nparams, 0, 0 }
#define DB_STMT_FLAGS(name, nparams, flags, sql) \
	{ name, sql, nparams, flags, 0 }

struct db {
	PGconn		*conn;
	const char	*conninfo;
	unsigned int	 gen;		/* bumped on every new connection */
	/* Run first on every new connection (the session's settings). */
	const char	*setup_sql;
	const char *const *setup_params;
	int		 setup_nparams;
};

enum db_status {
	DB_OK,
	DB_UNAVAILABLE,		/* cannot reach the server: 503 */
	DB_FAILED,		/* the statement failed: see the result */
};

void	db_init(struct db *db, const char *conninfo);
/*
 * sql with nparams params (kept by the caller) runs first on every new
 * connection; one that fails is logged, and the connection kept.
 */
void	db_setup(struct db *db, const char *sql, const char *const *params,
	    int nparams);
void	db_close(struct db *db);

/*
 * Makes sure the connection is up, reconnecting when the server went away
 * since the last request. Returns DB_OK or DB_UNAVAILABLE.
 */
enum db_status db_check(struct db *db);

/*
 * Runs stmt with params (text, NULL for SQL NULL). *res receives the result
 * on DB_OK and DB_FAILED (for PQresultErrorField); the caller PQclear()s it
 * in every case.
 */
enum db_status db_run(struct db *db, struct db_stmt *stmt,
	    const char *const *params, PGresult **res);

/* The SQLSTATE of a failed result, or "" . */
const char *db_sqlstate(const PGresult *res);

#endif
