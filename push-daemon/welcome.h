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

/*
 * Registers s (REGISTERING), then moves it on: REGISTERED once its row is
 * written, WELCOMING once an event read begun after that is over, WELCOMED
 * with its initial frames (session.h).
 */
void	welcome_session(struct hub *hub, struct session *s);
/* The database connection is back (after presence_connected()): every
 * open session registers again; those not WELCOMED are welcomed then. */
void	welcome_all(struct hub *hub);
/* An event read is over: the registered sessions that waited for it get
 * their undelivered messages (events.c). */
void	welcome_events_read(struct hub *hub);
/* Frees the waiting lists (at exit). */
void	welcome_free(void);

#endif
