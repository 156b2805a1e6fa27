/*
 * The event reader of docs/events.md: on every wake-up (a notification, a
 * reconnection, the periodic poll) it reads the events since its horizon
 * and pushes them to the sessions concerned, in order; it then marks the
 * messages it pushed to their receivers delivered.
 */
#ifndef CHAT_EVENTS_H
#define CHAT_EVENTS_H

#include <stdint.h>

#include <libpq-fe.h>

struct hub;
struct pg;

/*
 * read_over runs each time a read has pushed its batch (welcome.c's
 * welcome_events_read: the welcomes waiting for that read go on).
 */
int	events_init(struct hub *hub, void (*read_over)(struct hub *));
void	events_free(void);
/* Reads what happened since the horizon (now, or after the read under way). */
void	events_wake(struct hub *hub);
/*
 * A notification on chat_events: the payload names the accounts concerned
 * (ids separated by spaces), or is empty (anything may have happened). A
 * read follows at once when one of them is held here, else within 200 ms.
 */
void	events_heard(struct hub *hub, const char *payload);
/*
 * Delivered marks committed on pg (delivery.c): the daemons holding one of
 * senders (a uuid[] literal) read, the others woken through pg, this one
 * at once by itself.
 */
void	events_marks_committed(struct pg *pg, const char *senders);
/* A read within 200 ms, unless one is set already: after sends that no
 * other session here wants (frames.c), whose own-send lists the read
 * empties. */
void	events_soon(struct hub *hub);
/*
 * Connections being welcomed are registered: asks for a read that begins
 * from now on (at once, or after the read under way) and returns its
 * number, which events_read_done() reports once that read is over (and
 * read_over is called); 0 when no read can be made (no horizon yet, no
 * connection). The welcome's query
 * of undelivered messages waits for it, so that it meets a horizon that is
 * not behind (a read put off by a notification that named no account held
 * here would leave up to 200 ms of events unread, whose messages,
 * delivered elsewhere meanwhile, would come to the new connection as new),
 * and so that it takes in the changes that woke nobody because their
 * accounts had no connection registered yet (wake_push_daemons).
 */
uint64_t events_fresh_read(struct hub *hub);
/* Whether read number read (of events_fresh_read) is over. */
int	events_read_done(uint64_t read);
/* The database connection is (again) up: find the horizon if unknown. */
void	events_connected(struct hub *hub);
/* The event horizon as a number (0 until known). */
uint64_t events_horizon(void);
/*
 * The cursor of the event horizon (CONTRACT §10), NULL until known: the
 * events of every later read go to a session that enters the index now.
 */
const char *events_moment(void);
/*
 * Wakes the daemons after a change we committed: those holding one of
 * accounts (a uuid[] literal, "{a,b}") at once, the others within 200 ms;
 * every daemon at once when accounts is NULL. This one included.
 */
void	events_notify(struct hub *hub, const char *accounts);
/*
 * A query callback (arg: the hub) for the functions that answer how many
 * events they recorded: wakes the daemons when there are any.
 */
void	events_notify_if_recorded(void *hub, PGresult *res);
/*
 * The batch of sends under way has been answered (frames.c): the events
 * read meanwhile, held back so as not to echo a message to the session
 * that sent it before it knew the message's id, go out now.
 */
void	events_sends_answered(struct hub *hub);
/* A notification on chat_typing: "receiver-id frame". */
void	events_typing(struct hub *hub, const char *payload);

#endif
