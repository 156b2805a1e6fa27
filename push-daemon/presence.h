/*
 * Presence in the database (CONTRACT §8): this node's heartbeat, the
 * refused accounts, the reaping of dead nodes, and the end of a
 * connection's presence (its beginning is welcome.c's).
 */
#ifndef CHAT_PRESENCE_H
#define CHAT_PRESENCE_H

#include <stdint.h>

struct hub;
struct session;

/*
 * The database connection is up: the node's rows of an earlier run go, the
 * refused accounts load. Its sessions register again after these
 * (welcome_all(), queued behind them on the same connection).
 */
void	presence_connected(struct hub *hub);
/*
 * A session closed: its presence row goes. The end is kept until a query
 * that deleted the row committed, and tried again at every tick until
 * then, whatever happens to the database connection or its queue.
 */
void	presence_close(struct hub *hub, struct session *s);
/* The presence row of a session that closed before it was registered. */
void	presence_close_id(struct hub *hub, uint64_t session_id);
/* Frees the ends not written (at exit). */
void	presence_free(void);
/* Heartbeat, reaping, the ends not written yet; every few seconds. */
void	presence_tick(struct hub *hub);
/* SIGTERM: take this node out of the online set; done() when finished. */
void	presence_stop(struct hub *hub, void (*done)(struct hub *));

#endif
