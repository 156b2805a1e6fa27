/*
 * A new connection's registration and first frames (CONTRACT §6): its
 * presence row and the online_friends frame, then its undelivered messages,
 * merged with what events pushed meanwhile. Sessions that arrive together
 * are registered together: one query for a whole batch of them, one more
 * for their messages, so a daemon that many clients reach at once (after a
 * restart) welcomes them at the database's pace, not one per round trip.
 * A registration that fails in SQL is tried again after a pause, a few
 * times; then its connections close with 1011, and their clients reconnect.
 */
#ifndef CHAT_WELCOME_H
#define CHAT_WELCOME_H

struct hub;
struct session;

/* A session opened: register it, then queue its initial frames. */
void	welcome_session(struct hub *hub, struct session *s);
/* The database connection is back: register every open session again. */
void	welcome_all(struct hub *hub);
/* An event read is over: the registered sessions that waited for it get
 * their undelivered messages (events.c). */
void	welcome_events_read(struct hub *hub);
/* Frees the waiting lists (at exit). */
void	welcome_free(void);

#endif
