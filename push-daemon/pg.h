/*
 * The push daemon's PostgreSQL connection, inside the libwebsockets event
 * loop: libpq in non-blocking mode, its socket adopted into the loop, and
 * a queue of queries whose results come back through callbacks. Nothing
 * here waits for the database. When the connection is lost, every pending
 * query's callback gets a NULL result, and pg.c reconnects with backoff,
 * runs the connection's setup statements (LISTEN, SET) again and tells
 * its owner through on_connect.
 */
#ifndef CHAT_PG_H
#define CHAT_PG_H

#include <libpq-fe.h>
#include <libwebsockets.h>

/*
 * A statement, prepared on first use on each new connection. A statement
 * belongs to one struct pg: it remembers one connection it is prepared on.
 */
struct pg_stmt {
	const char	*name;
	const char	*sql;
	int		 nparams;
	unsigned int	 prepared_gen;
};

#define PG_STMT(name, nparams, sql)	{ name, sql, nparams, 0 }

/*
 * res is NULL when the connection was lost before the result came; the
 * callback owns res and PQclear()s it.
 */
typedef void (*pg_result_cb)(void *arg, PGresult *res);

struct pg_owner {
	void	(*on_connect)(void *arg);
	void	(*on_notify)(void *arg, const char *channel,
		    const char *payload);
	void	*arg;
};

struct pg;

/* The raw protocol that carries libpq's socket in the loop. */
extern const struct lws_protocols pg_protocol;

/*
 * A connection to conninfo, made again whenever it is lost; setup (a NULL-
 * terminated list of SQL statements, kept by the caller) runs first on
 * each connection. name (a literal) names it in the metrics.
 */
struct pg *pg_new(struct lws_context *ctx, struct lws_vhost *vhost,
	    const char *name, const char *conninfo, const char *const *setup,
	    const struct pg_owner *owner);
void	pg_free(struct pg *pg);

/*
 * Queues stmt with params (copied). cb runs once, with the result or NULL.
 * Returns 0, or -1 (cb not called) when not connected or the queue is full.
 */
int	pg_query(struct pg *pg, struct pg_stmt *stmt, const char *const *params,
	    pg_result_cb cb, void *arg);

/*
 * The wake-up of docs/events.md, sent after a change committed: the
 * daemons holding one of accounts (ids separated by spaces, in braces as
 * a PostgreSQL array; NULL: every daemon) read the event stream. Returns
 * as pg_query().
 */
int	pg_wake(struct pg *pg, const char *accounts);
/*
 * The same after a change of this daemon (node): only the other daemons
 * holding one of accounts are woken; this one reads by itself when it
 * holds one (frames.c, delivery.c), without a NOTIFY coming back to it.
 */
int	pg_wake_others(struct pg *pg, const char *node, const char *accounts);

/* A pg_result_cb for queries whose answer nobody needs (wake-ups,
 * heartbeats); pg.c logs any that fails. */
void	pg_ignore(void *arg, PGresult *res);

/*
 * Drops the connection and makes it again, as if it had been lost: every
 * pending query fails, on_connect follows. Done from the loop, after the
 * caller (a query's callback may ask); why, a literal, is logged.
 */
void	pg_reset(struct pg *pg, const char *why);

/*
 * Queries waiting beyond max (PG_MAX_QUEUED until told) are refused: the
 * database is too slow. The setup statements of a connection count, but
 * always go in.
 */
#define PG_MAX_QUEUED	65536
void	pg_set_max_queued(struct pg *pg, int max);

/* Queries queued (the one in flight too), and the connection's name,
 * for the metrics. */
int	pg_queued(const struct pg *pg);
const char *pg_name(const struct pg *pg);

/* Whether queries can be queued; pg may be NULL (shutting down). */
int	pg_connected(const struct pg *pg);

#endif
