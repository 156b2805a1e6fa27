/*
 * One WebSocket connection: its state (enum session_state), its outgoing
 * frames and what it must not be sent twice. Outgoing frames are queued as
 * shared, reference-counted buffers (a message to many recipients is
 * serialized once) and written only from the writeable callback, one frame
 * per call. The queue is capped: a client that does not read is closed
 * with 1008. Nothing here queries the database: the layers above
 * (welcome.c, events.c, frames.c) do, and move the session on.
 */
#ifndef CHAT_SESSION_H
#define CHAT_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libwebsockets.h>

#include "clientaddr.h"
#include "config.h"
#include "idmap.h"
#include "uuid.h"

/* The RFC 3339 times of the API: 2024-01-01T12:00:00.123456Z */
#define SESSION_TIME_SIZE	32
/* A cursor of the event stream (CONTRACT §10): at most 64 characters. */
#define SESSION_CURSOR_MAX	64

/* A frame ready to send, with LWS_PRE bytes of headroom for lws. */
struct outmsg {
	int		 refs;
	size_t		 len;
	/* An event of the stream (it carries a cursor). */
	int		 stream;
	/*
	 * The group whose per-group connections (CONTRACT §11) take it: ""
	 * for a frame of the main connection only (a connection of the
	 * per-group URL is sent nothing else).
	 */
	char		 group_id[UUID_TEXT_SIZE];
	/* new_message only: which message, to whom, created when. */
	char		 message_id[UUID_TEXT_SIZE];
	char		 receiver_id[UUID_TEXT_SIZE];
	char		 created_at[SESSION_TIME_SIZE];
	unsigned char	 buf[];
};

struct outmsg	*outmsg_new(const char *text, size_t len);
void		 outmsg_unref(struct outmsg *msg);

struct session_item {
	struct session_item	*next;
	struct outmsg		*msg;
	int			 capped;	/* counts against the cap */
};

struct session_list {
	struct session_item	*head, *tail;
};

/*
 * A connection's life. Only session_set_state() changes it: it refuses a
 * change the protocol does not allow, and moves the session between the
 * lists its states imply (the index by account; held, backlog, queue).
 *
 *   OPENING      handshake accepted; in no list
 *   REGISTERING  in the index; its presence row is queued or being
 *                written (welcome.c); events are held (those of the
 *                stream dropped, with `since`: the replay has them)
 *   REGISTERED   row written, online_friends queued; waits for an event
 *                read begun after that (docs/events.md); events are held
 *                (dropped, as above), and a new message created before it
 *                opened is left to the welcome (session_welcome_covers)
 *   WELCOMING    its query of undelivered messages, or with `since` of
 *                the events after its cursor (replay.c), is out; events
 *                held
 *   WELCOMED     the initial frames are queued, the held events after
 *                them; events flow
 *   CLOSING      every list emptied; the close frame is to be sent
 *   CLOSED       out of the index, everything freed
 *
 *   OPENING -> REGISTERING -> REGISTERED -> WELCOMING -> WELCOMED
 *   WELCOMING -> REGISTERED      its query was lost with the connection
 *                                (with `since`, the held events of the
 *                                stream go: the next replay has them)
 *   REGISTERED, WELCOMING -> REGISTERING
 *                                the database connection is back: the
 *                                row is written again (a WELCOMED session's
 *                                too, which stays WELCOMED: it is welcomed
 *                                once)
 *   REGISTERING..WELCOMED -> CLOSING -> CLOSED
 *   any but CLOSED -> CLOSED     the client went away
 */
enum session_state {
	SESSION_OPENING,	/* 0: lws zeroes the per-session data */
	SESSION_REGISTERING,
	SESSION_REGISTERED,
	SESSION_WELCOMING,
	SESSION_WELCOMED,
	SESSION_CLOSING,
	SESSION_CLOSED,
};

/* Which session a query's answer is for: sessions may close meanwhile. */
struct session_ref {
	char		 account_id[UUID_TEXT_SIZE];
	uint64_t	 id;
};

/*
 * Own sends whose message_created event has not been read yet, at most:
 * each is skipped by the event and forgotten then (CONTRACT §6: no echo).
 * Past the cap the oldest is forgotten, the likeliest to be read already.
 */
#define SESSION_SENT_MAX	512

struct hub;
struct session;

/*
 * The sessions from REGISTERING to CLOSING, by account (the hub's), and
 * the limits they live under: the configuration is the running one, which
 * SIGHUP changes in place.
 */
struct session_index {
	const struct config	*cfg;
	struct idmap		 accounts;	/* account id -> first session */
	size_t			 count;
};

int	session_index_init(struct session_index *idx, const struct config *cfg);
void	session_index_free(struct session_index *idx);
/* The first session of account_id (then follow next_of_account), or NULL. */
struct session *session_index_first(const struct session_index *idx,
	    const char *account_id);
/* Whether account_id may have one more session. */
int	session_index_has_room(const struct session_index *idx,
	    const char *account_id);

/* lws allocates this per connection (per_session_data). */
struct session {
	struct lws		*wsi;
	struct hub		*hub;		/* for the layers above */
	struct session_index	*index;
	enum session_state	 state;
	char			 account_id[UUID_TEXT_SIZE];
	uint64_t		 id;		/* unique on this node */
	struct session		*next_of_account;

	/*
	 * queue: frames being written. held: events until WELCOMED, which
	 * follow the initial frames. backlog: the initial undelivered
	 * messages (and the events after them) not yet in the queue: they
	 * enter it as it drains, so that a long absence does not overflow
	 * the cap meant for clients that do not read.
	 */
	struct session_list	 queue;
	struct session_list	 held;
	struct session_list	 backlog;
	size_t			 queued_bytes;	/* capped frames, all lists */
	size_t			 queue_bytes;	/* frames in queue */
	/* It reached REGISTERED once: a presence row may exist, whose end
	 * is written when it closes (presence.c). */
	int			 registered;
	/* The code of the close frame we send (0: none yet), and of the
	 * one the peer sent (ws.c; 1005 for one without a code). */
	int			 close_code;
	int			 peer_close_code;
	time_t			 heard_at;	/* its last frame or pong (ws.c) */
	/* For its log lines (ws.c): the client's address, and when it
	 * opened on the monotonic clock. */
	char			 addr[CLIENTADDR_SIZE];
	struct timespec		 opened_mono;

	char			*rx;		/* a fragmented frame so far */
	size_t			 rx_len;

	/*
	 * No echo (CONTRACT §6): its sends of the batch under way (frames.c),
	 * whose ids it does not know yet, and those it was answered whose
	 * message_created event is not read yet (oldest first).
	 */
	int			 sends_in_flight;
	/* Its requests waiting for the database (frames.c; CONTRACT §12:
	 * at most push.max_waiting_requests). */
	int			 waiting;
	char			(*sent)[UUID_TEXT_SIZE];
	size_t			 nsent, sent_cap;

	/* Messages of the initial frames, skipped when their events come,
	 * until the event horizon passes initial_until. */
	char			(*initial)[UUID_TEXT_SIZE];
	size_t			 ninitial;
	uint64_t		 initial_until;
	/* When it opened (this host's clock, as the API writes times). */
	char			 opened_at[SESSION_TIME_SIZE];
	/*
	 * Opened with `since` (CONTRACT §10): it gets the events after this
	 * cursor instead of its undelivered messages. Moved on as the
	 * replay's pages are queued, so that a replay begun again after a
	 * lost database connection goes on from there. Empty: without.
	 */
	char			 since[SESSION_CURSOR_MAX + 1];
	/*
	 * Past a limit (CONTRACT §12), its frames wait in its socket until
	 * resume fires, not in this daemon's loop: a flood slows only the
	 * client that makes it.
	 */
	lws_sorted_usec_list_t	 resume;
	int			 reading_paused;

	/*
	 * A connection of the per-group URL (CONTRACT §11): its group, and
	 * the next of that group's such connections here (groups.c); "" for
	 * the main connection. online_frame: the last online_members frame
	 * it was sent.
	 */
	char			 group_id[UUID_TEXT_SIZE];
	struct session		*next_in_group;
	char			*online_frame;
	/* Closes with this code once its queue is written (0: not so). */
	int			 close_after;
};

/* OPENING: takes wsi, its index and its id, and notes when it opened. */
void	session_open(struct session *s, struct lws *wsi,
	    struct session_index *idx, uint64_t id);
/*
 * The one change of s->state. Returns 0, or -1 when the change is not
 * allowed (logged) or when s cannot enter the index (its account has the
 * most sessions allowed, out of memory): s is left as it was.
 */
int	session_set_state(struct session *s, enum session_state state);
const char *session_state_name(enum session_state state);

/*
 * Queues an event frame (taking a reference): held until the session is
 * WELCOMED, so that the initial frames come first. An event of the stream
 * to a session with `since` before WELCOMING is dropped: its replay,
 * which reads up to the event horizon of that moment, has it. A
 * connection of the per-group URL takes only the frames of its group.
 */
void	session_push(struct session *s, struct outmsg *msg);
/* Queues a frame at once: replies, connection_established, online_friends. */
void	session_push_now(struct session *s, struct outmsg *msg);
/* Queues one of the initial undelivered messages (not capped: they enter
 * the queue as it drains). */
void	session_push_initial(struct session *s, struct outmsg *msg);
/* session_push_now() of a copy of text. */
void	session_send_text(struct session *s, const char *text);
/* CLOSING with code, unless closing or closed already. */
void	session_close(struct session *s, int code);
/* Reads no more of s's frames for seconds (a refusal with 429). */
void	session_pause_reading(struct session *s, double seconds);
/*
 * CLOSING with code once the frames queued now are written (the last
 * word to a client: CONTRACT §11's status_changed); nothing more is
 * queued meanwhile.
 */
void	session_close_after(struct session *s, int code);
/* The writeable callback: 0, or -1 to close. */
int	session_writeable(struct session *s);

void	session_ref(const struct session *s, struct session_ref *ref);
/*
 * Whether msg, a new message to s, is left to s's welcome: s is
 * REGISTERING or REGISTERED (its query of undelivered messages has not
 * gone out), and msg was created before s opened. The query sends it if
 * it is still undelivered; one that another connection got first is not
 * sent again. A copy of a message s's account sent from elsewhere that
 * passes this test is not sent at all: s did not exist when it was sent.
 */
int	session_welcome_covers(const struct session *s,
	    const struct outmsg *msg);

/*
 * Takes the held new_message frames out of the held list, into msgs
 * (references passed to the caller); returns how many, at most max.
 */
size_t	session_take_held_messages(struct session *s, struct outmsg **msgs,
	    size_t max);

/* Remembers the messages of the initial frames (ids copied). */
void	session_set_initial(struct session *s, char (*ids)[UUID_TEXT_SIZE],
	    size_t n, uint64_t until);
/* Whether message_id went out in the initial frames (horizon: the event
 * reader's, which lets the list go once it is past). */
int	session_sent_initially(struct session *s, const char *message_id,
	    uint64_t horizon);

/* Whether s opened with `since` (CONTRACT §10). */
int	session_has_since(const struct session *s);

/* message_sent told s the id of its send (at most SESSION_SENT_MAX). */
void	session_remember_send(struct session *s, const char *message_id);
int	session_sent(const struct session *s, const char *message_id);
/* The event of message_id has been pushed: forget it as a send of s. */
void	session_forget_send(struct session *s, const char *message_id);

#endif
