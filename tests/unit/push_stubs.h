/*
 * What the push daemon's unit tests put in place of its database
 * connection (pg.c), its timers (timer.c) and the three libwebsockets
 * calls of session.c: no server, no event loop runs in a unit test.
 * Queries wait until the test answers them, with results it builds;
 * the frames written to a connection are kept as text.
 */
#ifndef CHAT_PUSH_STUBS_H
#define CHAT_PUSH_STUBS_H

#include <libpq-fe.h>

#include "session.h"

#define STUB_FRAMES_MAX	64

/* A connection's far side: what lws_write() wrote to it, in order. */
struct stub_wsi {
	char	*frames[STUB_FRAMES_MAX];
	int	 n;
	int	 closed;	/* lws_close_reason() was called */
};

#define STUB_WSI(w)	((struct lws *)(void *)(w))

/* What pg_connected() answers (1 unless a test says otherwise). */
extern int stub_connected;

/* How many queries of statement name wait for their answer. */
int	stub_pending(const char *name);
/* Parameter i of the first query of name waiting, or NULL. */
const char *stub_param(const char *name, int i);
/*
 * Answers the first query of name waiting with res (NULL: the connection
 * was lost), as pg.c does: the callback owns res. -1 when none waits.
 */
int	stub_answer(const char *name, PGresult *res);
/*
 * Fails every waiting query as a lost connection does (each callback gets
 * NULL, and what they query meanwhile is refused): the end of a test.
 */
void	stub_lose_all(void);

/*
 * A result of ncols columns and nrows rows; values row by row, NULL for
 * an SQL NULL.
 */
PGresult *stub_result(int ncols, int nrows, const char *const *values);

/* Writes s's queue as the writeable callbacks would, until it is empty. */
void	stub_write_all(struct session *s);
/* Whether w got exactly the frames of expect (NULL-terminated), in order;
 * prints what it got otherwise. */
int	stub_got(const struct stub_wsi *w, const char *const *expect);
void	stub_wsi_clear(struct stub_wsi *w);

struct hub;
/* A new session of account on w, opened in hub's index (OPENING). */
struct session *stub_session_open(struct hub *hub, const char *account,
	    struct stub_wsi *w);
/* The same, WELCOMED as a session is once its welcome is over. */
struct session *stub_session_welcomed(struct hub *hub, const char *account,
	    struct stub_wsi *w);
/* Closes s (CLOSED: out of the index), frees it and clears w. */
void	stub_session_close(struct session *s, struct stub_wsi *w);

/*
 * The hub of a test on cfg (emptied: 1 MiB queues, 5 connections an
 * account; the test sets more after), node "node-1", with the event
 * reader made (read_over: events_init's).
 */
void	stub_hub_init(struct hub *hub, struct config *cfg,
	    void (*read_over)(struct hub *));
/* The reader's answers when it starts: its horizon at 100, then a read
 * that finds nothing. */
PGresult *stub_horizon_at_100(void);
PGresult *stub_read_nothing(void);
/* Undoes stub_hub_init (every query waiting fails first). */
void	stub_hub_free(struct hub *hub);

#endif
