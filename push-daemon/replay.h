/*
 * The welcome of connections that opened with `since` (CONTRACT §10):
 * instead of their undelivered messages, the events of their stream after
 * their cursor, up to the event horizon of the moment they became
 * WELCOMING. Every event from that horizon on reaches them live (held
 * until the replay is queued, then after it): no gap, no repeat
 * (docs/events.md). A cursor that cannot be followed gets resync_required.
 */
#ifndef CHAT_REPLAY_H
#define CHAT_REPLAY_H

#include <stddef.h>

struct hub;
struct session_ref;

/*
 * Replays the stream to the sessions of refs (n > 0), WELCOMING with
 * `since`, in pages; each is WELCOMED after its last page, REGISTERED
 * again when the database connection is lost (the next replay goes on
 * from its last page), closed with 1011 on an SQL error.
 */
void	replay_sessions(struct hub *hub, const struct session_ref *refs,
	    size_t n);

#endif
