/*
 * Presence in the database (CONTRACT §8): this node's heartbeat, a row per
 * open connection, the reaping of dead nodes; and the initial frames of a
 * new connection (online friends, then undelivered messages).
 */
#ifndef CHAT_PRESENCE_H
#define CHAT_PRESENCE_H

struct hub;
struct session;

/* The database connection is up: register the node and every session. */
void	presence_connected(struct hub *hub);
/* A session opened: register it and queue its initial frames. */
void	presence_open(struct hub *hub, struct session *s);
/* A session closed. */
void	presence_close(struct hub *hub, struct session *s);
/* Heartbeat and reaping; called every few seconds. */
void	presence_tick(struct hub *hub);
/* SIGTERM: take this node out of the online set; done() when finished. */
void	presence_stop(struct hub *hub, void (*done)(struct hub *));

#endif
