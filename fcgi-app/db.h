/*
 * A FastCGI process's database connection. Every query is a statement
 * with parameters, never SQL built from input. Statements are prepared on
 * first use and again after every reconnection, unless the connection is
 * DB_UNNAMED: behind a pooler in transaction mode each transaction may run
 * on another server connection, where a statement prepared on one is
 * unknown, so each is sent unnamed with its SQL (parsed and planned at
 * every call: the functions it calls keep their plans per server session).
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

struct db;

/* Called on every new connection, before its first statement. */
typedef void	(*db_connected_fn)(struct db *, void *);

struct db {
	PGconn		*conn;
	const char	*label;		/* "database", "replica": in logs */
	const char	*conninfo;
	int		 flags;		/* DB_UNNAMED */
	/* Bumped on every new connection; unique among the connections of
	 * the process, so that a statement prepared on one is never taken
	 * for one prepared on another. */
	unsigned int	 gen;
	db_connected_fn	 connected;
	void		*connected_arg;
};

/* Statements are sent unnamed, never prepared (see above). */
#define DB_UNNAMED	0x1

enum db_status {
	DB_OK,
	DB_UNAVAILABLE,		/* cannot reach the server: 503 */
	DB_FAILED,		/* the statement failed: see the result */
};

void	db_init(struct db *db, const char *label, const char *conninfo,
	    int flags);
/*
 * fn(db, arg) runs on every new connection, before the statement that
 * made it: the session's settings. It may run statements with db_run();
 * one that loses the connection makes the connection fail.
 */
void	db_on_connect(struct db *db, db_connected_fn fn, void *arg);
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
