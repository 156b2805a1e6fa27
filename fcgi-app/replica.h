/*
 * Reads a streaming replica may serve ([database] replica_conninfo): the
 * history and search pages, direct and of groups, whose SQL functions only
 * read (STABLE; group_gate without its lock). The rule: a read sees every
 * write acknowledged before it began. The primary's WAL position is asked
 * first (pg_current_wal_lsn(): every write this service acknowledges was
 * committed, with synchronous_commit on, before that position), then the
 * replica serves the read once it has replayed that far, waited for up to
 * [database] replica_wait_ms. Otherwise, and whenever the replica cannot
 * be reached or its statement fails (a conflict with recovery, say), the
 * primary serves the read: never an error for the client. A replica read
 * so costs a round trip to the primary more than a read on the primary.
 */
#ifndef CHAT_REPLICA_H
#define CHAT_REPLICA_H

#include "db.h"

struct app;

/* Sets up app->replica when one is configured (no connection yet). */
void	replica_init(struct app *app);
void	replica_close(struct app *app);

/*
 * db_run() of stmt, a statement that only reads, on the replica when the
 * rule allows, else on the primary; counted in the metrics by where.
 */
enum db_status replica_run(struct app *app, struct db_stmt *stmt,
	    const char *const *params, PGresult **res);

#endif
