/*
 * One WebSocket connection. Outgoing frames are queued as shared,
 * reference-counted buffers (a message to many recipients is serialized
 * once) and written only from the writeable callback, one frame per call.
 * The queue is capped: a client that does not read is closed with 1008.
 */
#ifndef CHAT_SESSION_H
#define CHAT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "uuid.h"

/* A frame ready to send, with LWS_PRE bytes of headroom for lws. */
/* The RFC 3339 times of the API: 2024-01-01T12:00:00.123456Z */
#define SESSION_TIME_SIZE	32

struct outmsg {
	int		 refs;
	size_t		 len;
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

enum session_state {
	SESSION_PENDING,	/* initial frames not yet queued: hold events */
	SESSION_READY,		/* events flow */
	SESSION_CLOSING,	/* close frame to send */
};

/* Which session a query's answer is for: sessions may close meanwhile. */
struct session_ref {
	char		 account_id[UUID_TEXT_SIZE];
	uint64_t	 id;
};

/*
 * Own sends whose message_created event has not been read yet, at most:
 * each is skipped by the event and forgotten then (CONTRACT §6: no echo).
 */
#define SESSION_SENT_MAX	512

struct hub;

/* lws allocates this per connection (per_session_data). */
struct session {
	struct lws		*wsi;
	struct hub		*hub;
	enum session_state	 state;
	int			 linked;	/* in the hub's indexes */
	char			 account_id[UUID_TEXT_SIZE];
	uint64_t		 id;		/* unique on this node */
	struct session		*next_of_account;

	/*
	 * queue: frames being written. held: events while PENDING, which
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
	int			 registered;	/* presence row written */
	int			 close_code;

	char			*rx;		/* a fragmented frame so far */
	size_t			 rx_len;

	char			(*sent)[UUID_TEXT_SIZE];	/* oldest first */
	size_t			 nsent, sent_cap;
	int			 sends_in_flight; /* in the batch under way */

	/* Messages of the initial frames, skipped when their events come,
	 * until the event horizon passes initial_until. */
	char			(*initial)[UUID_TEXT_SIZE];
	size_t			 ninitial;
	uint64_t		 initial_until;
	/* When it opened (this host's clock, as the API writes times), and
	 * whether the welcome's query of undelivered messages went out. */
	char			 opened_at[SESSION_TIME_SIZE];
	int			 welcome_asked;
};

/*
 * Queues an event frame (taking a reference): held back while the session
 * is PENDING, so that the initial frames come first.
 */
void	session_push(struct session *s, struct outmsg *msg);
/* Queues a frame at once: replies, connection_established, online_friends. */
void	session_push_now(struct session *s, struct outmsg *msg);
/* Queues one of the initial undelivered messages (not capped: they enter
 * the queue as it drains). */
void	session_push_initial(struct session *s, struct outmsg *msg);
/* session_push_now() of a copy of text. */
void	session_send_text(struct session *s, const char *text);
/* Drops what is queued and closes with code. */
void	session_close(struct session *s, int code);
/* The initial frames are queued: the held events follow them. */
void	session_ready(struct session *s);
/* The writeable callback: 0, or -1 to close. */
int	session_writeable(struct session *s);
/* Releases everything the session holds. */
void	session_destroy(struct session *s);

void	session_ref(const struct session *s, struct session_ref *ref);
/* Records when the session opened (opened_at). */
void	session_opened(struct session *s);
/*
 * Whether msg, a new message to s, is left to s's welcome: s is being
 * welcomed, its query of undelivered messages has not gone out, and msg
 * was created before s opened. The query sends it if it is still
 * undelivered; one that another connection got first is not sent again.
 * A copy of a message s's account sent from elsewhere that passes this
 * test is not sent at all: s did not exist when it was sent.
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

void	session_remember_send(struct session *s, const char *message_id);
int	session_sent(const struct session *s, const char *message_id);
/* The event of message_id has been pushed: forget it as a send of s. */
void	session_forget_send(struct session *s, const char *message_id);

#endif
