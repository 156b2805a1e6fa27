/*
 * Calls of the api_* SQL functions of sql/, which hold the rules of the
 * friends and chat endpoints and answer (status, body, events). After a
 * call that recorded events, proc_call() wakes the push daemons with a
 * NOTIFY of its own, after the commit: see docs/events.md.
 */
#ifndef CHAT_PROC_H
#define CHAT_PROC_H

#include "db.h"
#include "reply.h"
#include "request.h"

/*
 * Runs stmt, which selects status, body, events, or (DB_BINARY) the row
 * of message_answer, which page.c writes; answers with them. wake
 * names the accounts the events concern, as a uuid[] literal ("{a,b}"),
 * so that only the daemons holding them read at once; NULL wakes every
 * daemon.
 */
void	proc_call(struct request *rq, struct reply *rp, struct db_stmt *stmt,
	    const char *const *params, const char *wake);

/*
 * proc_call() of a statement that only reads (it records no events), on
 * the replica when one serves (replica.h).
 */
void	proc_read(struct request *rq, struct reply *rp, struct db_stmt *stmt,
	    const char *const *params);

/*
 * proc_call() for a handler that acts on the object named in the path:
 * stmt gets the caller's account, the UUID of the path parameter name,
 * then extra unless NULL. A bad UUID is a 422 at ["path", name].
 */
void	proc_call_on_id(struct request *rq, struct reply *rp,
	    struct db_stmt *stmt, const char *name, const char *extra);

/* Runs stmt, which selects one JSON value; answers it with 200. */
void	proc_json(struct request *rq, struct reply *rp, struct db_stmt *stmt,
	    const char *const *params);

#endif
