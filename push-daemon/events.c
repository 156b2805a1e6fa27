#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"
#include "groups.h"
#include "hub.h"
#include "idlist.h"
#include "log.h"
#include "metrics.h"
#include "timer.h"

static struct pg_stmt events_horizon_stmt = PG_STMT("ev_horizon", 0,
    "SELECT h, stream_cursor(h, h, 0) FROM stream_horizon() h");
static struct pg_stmt events_read_stmt = PG_STMT("ev_read", 1,
    "SELECT * FROM push_stream_read($1)");
static struct pg_stmt events_messages_stmt = PG_STMT("ev_messages", 2,
    "SELECT * FROM push_message_frames($1, $2)");
static struct pg_stmt events_groups_stmt = PG_STMT("ev_groups", 2,
    "SELECT * FROM push_group_frames($1, $2)");

/*
 * A notification that names no account held here does not make a read at
 * once; one read follows within this delay, so that the horizon keeps up
 * (welcome.c asks for the messages of the events not read yet).
 */
#define EVENTS_LAZY_US	(200 * LWS_US_PER_MS)
/*
 * The next read when committed events wait behind an older transaction:
 * after 2 ms while the horizon moves, twice as long each time it does not
 * (a transaction left open for long holds everything), up to
 * EVENTS_LAZY_US.
 */
#define EVENTS_HELD_US	(2 * LWS_US_PER_MS)

/* Columns of push_stream_read() and of push_message_frames(). */
enum { EV_HORIZON, EV_ID, EV_KIND, EV_ACTOR, EV_TARGET, EV_MESSAGE, EV_HELD,
	EV_CURSOR, EV_FRAME, EV_MOMENT, EV_AGE };
enum { MSG_ID, MSG_SENDER, MSG_RECEIVER, MSG_CREATED_AT, MSG_FRAME };
/* Columns of push_group_frames(). */
enum { GR_EVENT, GR_GROUP, GR_ACCOUNT, GR_STATUS, GR_MEMBERS, GR_NAME,
	GR_ACTIVE, GR_FRAME };

/*
 * One batch of events, kept while the frames of its messages and of its
 * group events are fetched (two queries at most, answered in order).
 */
struct events_batch {
	struct hub	*hub;
	PGresult	*events;
	PGresult	*messages;
	PGresult	*groups;
	int		 pending;	/* queries not answered yet */
	int		 failed;	/* one of them failed */
};

/* What the reader is doing: one read at a time. */
enum events_state {
	EVENTS_IDLE,		/* no read under way */
	EVENTS_FINDING,		/* asking the first horizon */
	EVENTS_READING,		/* push_stream_read() asked */
	EVENTS_FETCHING,	/* push_message_frames() and/or
				   push_group_frames() asked for the
				   batch read */
	EVENTS_PARKED,		/* the batch waits for the answer of sends
				   it could echo (events_sends_answered) */
};

/* The event reader: where it is, what it is doing, what follows. */
static struct events_reader {
	enum events_state	 state;
	uint64_t		 horizon;	/* xid8; 0 until known (no
						   xid is 0) */
	char			 moment[SESSION_CURSOR_MAX + 1];
						/* the cursor of the horizon */
	struct events_batch	*parked;	/* PARKED: the batch */
	int			 again;		/* woken during a read: one
						   more follows it */
	int			 lazy;		/* a read is set (lazy_timer) */
	lws_sorted_usec_list_t	 lazy_timer;
	lws_usec_t		 held_us;	/* the next delay while
						   events are held */
	uint64_t		 started;	/* reads started: the last
						   one's number */
	uint64_t		 over;		/* the last read over */
	struct hub		*hub;
	void			(*read_over)(struct hub *);
} ev;

int
events_init(struct hub *hub, void (*read_over)(struct hub *))
{
	memset(&ev, 0, sizeof(ev));
	ev.hub = hub;
	ev.read_over = read_over;
	ev.held_us = EVENTS_HELD_US;
	return 0;
}

static void events_batch_free(struct events_batch *b);

void
events_free(void)
{
	events_batch_free(ev.parked);
	ev.parked = NULL;
	ev.state = EVENTS_IDLE;
}

void
events_notify(struct hub *hub, const char *accounts)
{
	pg_wake(hub->pg, accounts);
}

/*
 * Sends the frame of event row i (push_stream_events: made by the database, with
 * its cursor when it is an event of the stream) to the sessions of its
 * target.
 */
static void
events_send_frame(struct hub *hub, const PGresult *r, int i)
{
	const char *to = PQgetvalue(r, i, EV_TARGET);
	struct outmsg *msg;

	if (!hub_account_online(hub, to))
		return;
	msg = outmsg_new(PQgetvalue(r, i, EV_FRAME),
	    (size_t)PQgetlength(r, i, EV_FRAME));
	if (msg == NULL)
		return;
	msg->stream = !PQgetisnull(r, i, EV_CURSOR);
	hub_send(hub, to, msg, NULL);
	outmsg_unref(msg);
}

/* The new_message frame of message id in the batch, or NULL. */
static int
events_message_row(const PGresult *messages, const char *id)
{
	if (messages == NULL)
		return -1;
	for (int i = 0; i < PQntuples(messages); i++)
		if (strcmp(PQgetvalue(messages, i, MSG_ID), id) == 0)
			return i;
	return -1;
}

/*
 * Pushes a new message to its receiver and the sender's other sessions;
 * it is marked delivered once written to the receiver (delivery.c).
 */
static void
events_new_message(struct events_batch *b, const char *id)
{
	struct hub *hub = b->hub;
	int row = events_message_row(b->messages, id);
	const char *sender, *receiver;
	struct outmsg *msg;

	if (row == -1)
		return;		/* deleted since */
	sender = PQgetvalue(b->messages, row, MSG_SENDER);
	receiver = PQgetvalue(b->messages, row, MSG_RECEIVER);
	msg = outmsg_new(PQgetvalue(b->messages, row, MSG_FRAME),
	    (size_t)PQgetlength(b->messages, row, MSG_FRAME));
	if (msg == NULL)
		return;
	msg->stream = 1;
	memcpy(msg->message_id, id, UUID_TEXT_SIZE);
	memcpy(msg->receiver_id, receiver, UUID_TEXT_SIZE);
	snprintf(msg->created_at, sizeof(msg->created_at), "%s",
	    PQgetvalue(b->messages, row, MSG_CREATED_AT));
	for (struct session *s = hub_sessions(hub, receiver); s != NULL;
	    s = s->next_of_account) {
		/* A read put off until after the session opened would
		 * otherwise send it messages delivered already: a burst of
		 * them could fill its queue. */
		if (session_welcome_covers(s, msg))
			continue;
		if (!session_sent_initially(s, id, events_horizon()))
			session_push(s, msg);
	}
	/* The sender's other connections; not one that opened after the
	 * message was created (a daemon nobody woke reads it late). */
	for (struct session *s = hub_sessions(hub, sender); s != NULL;
	    s = s->next_of_account)
		if (!session_sent(s, id) && !session_welcome_covers(s, msg))
			session_push(s, msg);
	outmsg_unref(msg);
}

/* Whether kind is the kind of a group event (CONTRACT §11). */
static int
events_is_group(const char *kind)
{
	return strncmp(kind, "group_", 6) == 0;
}

/* Whether kind changes a member's standing in a group. */
static int
events_is_member_change(const char *kind)
{
	return strncmp(kind, "group_member_", 13) == 0;
}

/* Whether kind changes a group's members or the group itself. */
static int
events_changes_group(const char *kind)
{
	return strcmp(kind, "group_updated") == 0 ||
	    events_is_member_change(kind);
}

/* The first row of push_group_frames() for event id, or -1. */
static int
events_group_row(const PGresult *groups, const char *id)
{
	if (groups == NULL)
		return -1;
	for (int i = 0; i < PQntuples(groups); i++)
		if (strcmp(PQgetvalue(groups, i, GR_EVENT), id) == 0)
			return i;
	return -1;
}

/*
 * frame to the sessions of the main URL of account_id; not, for a group
 * message, to one that sent it (it had message_sent), which forgets it.
 */
static void
events_group_send(struct hub *hub, const char *account_id,
    struct outmsg *msg, const char *message_id)
{
	for (struct session *s = hub_sessions(hub, account_id); s != NULL;
	    s = s->next_of_account) {
		if (s->group_id[0] != '\0')
			continue;
		if (message_id != NULL && session_sent(s, message_id)) {
			session_forget_send(s, message_id);
			continue;
		}
		session_push(s, msg);
	}
}

/*
 * A group event (its rows of push_group_frames): the group's copy
 * takes the change, then its frame goes to the group's active members
 * here, and to the member concerned by a membership event, on their main
 * connections; a message and its deletion to the group's per-group
 * connections too; group_updated, as each member sees the group, to each.
 * A member no longer active has its per-group connections closed.
 */
static void
events_group_event(struct events_batch *b, int i)
{
	struct hub *hub = b->hub;
	const PGresult *r = b->events, *g = b->groups;
	const char *kind = PQgetvalue(r, i, EV_KIND);
	const char *target = PQgetvalue(r, i, EV_TARGET);
	const char *id = PQgetvalue(r, i, EV_ID), *message = NULL, *gid;
	int first = events_group_row(g, id), row, active;
	const groups_id *members;
	struct outmsg *msg = NULL;
	size_t n;

	if (first == -1)
		return;		/* not fetched: nobody here hears it */
	gid = PQgetvalue(g, first, GR_GROUP);
	active = strcmp(PQgetvalue(g, first, GR_ACTIVE), "t") == 0;
	if (events_changes_group(kind))
		groups_apply(gid, strtoull(id, NULL, 10),
		    PQgetisnull(g, first, GR_MEMBERS) ? NULL :
		    PQgetvalue(g, first, GR_MEMBERS),
		    PQgetvalue(g, first, GR_NAME), active);
	if (strcmp(kind, "group_message") == 0)
		message = PQgetvalue(r, i, EV_MESSAGE);
	if (!PQgetisnull(g, first, GR_FRAME) && (msg = outmsg_new(
	    PQgetvalue(g, first, GR_FRAME),
	    (size_t)PQgetlength(g, first, GR_FRAME))) != NULL) {
		msg->stream = 1;
		if (message != NULL ||
		    strcmp(kind, "group_message_deleted") == 0)
			memcpy(msg->group_id, gid, UUID_TEXT_SIZE);
		members = groups_members(gid, &n);
		for (size_t k = 0; k < n; k++)
			events_group_send(hub, members[k], msg, message);
		if (events_is_member_change(kind) &&
		    !groups_has_member(gid, target))
			events_group_send(hub, target, msg, NULL);
		for (struct session *s = groups_sockets(gid);
		    msg->group_id[0] != '\0' && s != NULL; s = s->next_in_group)
			if (message == NULL || !session_sent(s, message))
				session_push(s, msg);
		outmsg_unref(msg);
	}
	/* group_updated: a frame for each member, as it sees the group. */
	for (row = first + 1; row < PQntuples(g) &&
	    !PQgetisnull(g, row, GR_ACCOUNT) &&
	    strcmp(PQgetvalue(g, row, GR_EVENT), id) == 0; row++) {
		if (!hub_account_online(hub, PQgetvalue(g, row, GR_ACCOUNT)) ||
		    (msg = outmsg_new(PQgetvalue(g, row, GR_FRAME),
		    (size_t)PQgetlength(g, row, GR_FRAME))) == NULL)
			continue;
		msg->stream = 1;
		events_group_send(hub, PQgetvalue(g, row, GR_ACCOUNT), msg, NULL);
		outmsg_unref(msg);
	}
	if (events_is_member_change(kind) &&
	    !PQgetisnull(g, first, GR_STATUS) &&
	    strcmp(PQgetvalue(g, first, GR_STATUS), "active") != 0)
		groups_status_changed(gid, target,
		    PQgetvalue(g, first, GR_STATUS), active);
	else if (strcmp(kind, "group_updated") == 0 && !active)
		groups_status_changed(gid, NULL, "active", 0);
	if (message != NULL)
		for (struct session *s = hub_sessions(hub,
		    PQgetvalue(r, i, EV_ACTOR)); s != NULL;
		    s = s->next_of_account)
			session_forget_send(s, message);
}

void
events_notify_if_recorded(void *hub, PGresult *res)
{
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		events_notify(hub, NULL);
	PQclear(res);
}

static void
events_dispatch_one(struct events_batch *b, int i)
{
	struct hub *hub = b->hub;
	const PGresult *r = b->events;
	const char *kind = PQgetvalue(r, i, EV_KIND);
	const char *actor = PQgetvalue(r, i, EV_ACTOR);
	const char *message = PQgetvalue(r, i, EV_MESSAGE);

	if (events_is_group(kind))
		events_group_event(b, i);
	else if (strcmp(kind, "message_created") == 0) {
		events_new_message(b, message);
		/* Its sender's sessions need not remember it any longer. */
		for (struct session *s = hub_sessions(hub, actor); s != NULL;
		    s = s->next_of_account)
			session_forget_send(s, message);
	}
	else if (strcmp(kind, "account_disabled") == 0) {
		idmap_put(&hub->refused, actor, hub);
		hub_close_account(hub, actor, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	} else if (strcmp(kind, "account_enabled") == 0)
		idmap_remove(&hub->refused, actor);
	else if (!PQgetisnull(r, i, EV_FRAME))
		events_send_frame(hub, r, i);
}

static void
events_lazy_due(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	ev.lazy = 0;
	events_wake(ev.hub);
}

/* A read in us (replacing one set before), unless the horizon is
 * unknown: the first read follows from events_connected(). */
static void
events_later(struct hub *hub, lws_usec_t us)
{
	if (ev.horizon == 0)
		return;
	ev.lazy = 1;
	timer_schedule(hub->ctx, &ev.lazy_timer, events_lazy_due, us);
}

static void
events_batch_free(struct events_batch *b)
{
	if (b == NULL)
		return;
	PQclear(b->events);
	PQclear(b->messages);
	PQclear(b->groups);
	free(b);
}

/*
 * The read under way is over. Pushed: the welcomes waiting for it go on
 * (read_over). Failed: they wait for the next read, within 200 ms at the
 * latest. A wake-up during the read starts the next one now.
 */
static void
events_read_over(struct hub *hub, int pushed)
{
	ev.state = EVENTS_IDLE;
	if (pushed) {
		ev.over = ev.started;
		if (ev.read_over != NULL)
			ev.read_over(hub);
	}
	if (ev.again) {
		ev.again = 0;
		events_wake(hub);
	} else if (!pushed)
		events_later(hub, EVENTS_LAZY_US);
}

/*
 * Whether a message of the batch was sent by a session here whose sends
 * are still unanswered: it may be that session's own message, which it
 * must not get back, and its id is known only with the answer.
 */
static int
events_from_unanswered_sends(const struct events_batch *b)
{
	const PGresult *r = b->events;

	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, EV_KIND) ||
		    (strcmp(PQgetvalue(r, i, EV_KIND), "message_created") != 0 &&
		    strcmp(PQgetvalue(r, i, EV_KIND), "group_message") != 0))
			continue;
		for (struct session *s = hub_sessions(b->hub,
		    PQgetvalue(r, i, EV_ACTOR)); s != NULL; s = s->next_of_account)
			if (s->sends_in_flight > 0)
				return 1;
	}
	return 0;
}

/*
 * Pushes every event of the batch in order; ends the read. A batch that
 * could echo a send still unanswered waits for the answer (the read stays
 * under way meanwhile, so that the order holds): one round trip at most.
 */
static void
events_dispatch(struct events_batch *b)
{
	struct hub *hub = b->hub;
	int n = PQntuples(b->events), held = 0;
	uint64_t before = ev.horizon;

	if (events_from_unanswered_sends(b)) {
		ev.state = EVENTS_PARKED;
		ev.parked = b;
		return;
	}
	for (int i = 0; i < n; i++)
		if (!PQgetisnull(b->events, i, EV_KIND))
			events_dispatch_one(b, i);
	if (n > 0) {
		ev.horizon = strtoull(PQgetvalue(b->events, 0, EV_HORIZON),
		    NULL, 10);
		snprintf(ev.moment, sizeof(ev.moment), "%s",
		    PQgetvalue(b->events, 0, EV_MOMENT));
		held = strcmp(PQgetvalue(b->events, 0, EV_HELD), "t") == 0;
	}
	events_batch_free(b);
	events_read_over(hub, 1);
	if (held && ev.state == EVENTS_IDLE) {
		if (ev.horizon != before)
			ev.held_us = EVENTS_HELD_US;
		events_later(hub, ev.held_us);
		if ((ev.held_us *= 2) > EVENTS_LAZY_US)
			ev.held_us = EVENTS_LAZY_US;
	}
}

/*
 * One of the batch's fetches answered (into *into); once both are, the
 * batch goes out, or, one having failed, the horizon stays and the next
 * read does it again.
 */
static void
events_fetch_done(struct events_batch *b)
{
	struct hub *hub = b->hub;

	if (--b->pending > 0)
		return;
	if (b->failed) {
		events_batch_free(b);
		events_read_over(hub, 0);
	} else
		events_dispatch(b);
}

static void
events_fetched_into(struct events_batch *b, PGresult **into, PGresult *res)
{
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		b->failed = 1;
	} else
		*into = res;
	events_fetch_done(b);
}

static void
events_fetched(void *arg, PGresult *res)
{
	struct events_batch *b = arg;

	events_fetched_into(b, &b->messages, res);
}

static void
events_groups_fetched(void *arg, PGresult *res)
{
	struct events_batch *b = arg;

	events_fetched_into(b, &b->groups, res);
}

/*
 * Whether a session of the sender here has yet to get message id: its
 * other sessions do, the one that sent it does not (it had message_sent),
 * so for a sender alone here the frame need not be fetched at all.
 */
static int
events_sender_wants(struct hub *hub, const char *sender, const char *id)
{
	for (struct session *s = hub_sessions(hub, sender); s != NULL;
	    s = s->next_of_account)
		if (!session_sent(s, id))
			return 1;
	return 0;
}

/*
 * Adds to ids the messages of the batch that a session here must get, and
 * their events' cursors to cursors, in the same order.
 */
static int
events_wanted_messages(struct hub *hub, const PGresult *r, struct idlist *ids,
    struct idlist *cursors)
{
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, EV_KIND) ||
		    strcmp(PQgetvalue(r, i, EV_KIND), "message_created") != 0)
			continue;
		if (!hub_account_online(hub, PQgetvalue(r, i, EV_TARGET)) &&
		    !events_sender_wants(hub, PQgetvalue(r, i, EV_ACTOR),
		    PQgetvalue(r, i, EV_MESSAGE)))
			continue;
		if (idlist_add(ids, PQgetvalue(r, i, EV_MESSAGE)) == -1 ||
		    idlist_add(cursors, PQgetvalue(r, i, EV_CURSOR)) == -1)
			return -1;
	}
	return 0;
}

/*
 * Adds to ids the group events of the batch that this daemon must know
 * (every change of a group or of its members: its copy of the group
 * follows them), or whose group has a member with a session here, and
 * their cursors to cursors. The group of a message, a deletion or a read
 * is its target; a batch that changes some group's members fetches all
 * its group events, since the copy learns of a new member only then.
 */
static int
events_wanted_groups(struct hub *hub, const PGresult *r, struct idlist *ids,
    struct idlist *cursors)
{
	int changes = 0;

	for (int i = 0; i < PQntuples(r) && !changes; i++)
		changes = !PQgetisnull(r, i, EV_KIND) &&
		    events_changes_group(PQgetvalue(r, i, EV_KIND));
	for (int i = 0; i < PQntuples(r); i++) {
		if (PQgetisnull(r, i, EV_KIND) ||
		    !events_is_group(PQgetvalue(r, i, EV_KIND)))
			continue;
		if (!changes && !groups_has_local_member(hub,
		    PQgetvalue(r, i, EV_TARGET)))
			continue;
		if (idlist_add(ids, PQgetvalue(r, i, EV_ID)) == -1 ||
		    idlist_add(cursors, PQgetvalue(r, i, EV_CURSOR)) == -1)
			return -1;
	}
	return 0;
}

static void
events_read(void *arg, PGresult *res)
{
	struct hub *hub = arg;
	struct events_batch *b;
	struct idlist ids = IDLIST_EMPTY, cursors = IDLIST_EMPTY;
	struct idlist gids = IDLIST_EMPTY, gcursors = IDLIST_EMPTY;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
	    (b = calloc(1, sizeof(*b))) == NULL) {
		PQclear(res);
		events_read_over(hub, 0);
		return;
	}
	b->hub = hub;
	b->events = res;
	for (int i = 0; i < PQntuples(res); i++)
		if (!PQgetisnull(res, i, EV_AGE))
			metrics_event_lag(strtod(PQgetvalue(res, i, EV_AGE),
			    NULL));
	if (events_wanted_messages(hub, res, &ids, &cursors) == -1 ||
	    events_wanted_groups(hub, res, &gids, &gcursors) == -1) {
		/* Out of memory: the horizon stays, the next read redoes it. */
		events_batch_free(b);
		events_read_over(hub, 0);
	} else if (idlist_text(&ids) == NULL && idlist_text(&gids) == NULL)
		events_dispatch(b);
	else {
		const char *params[] = { idlist_text(&ids),
		    idlist_text(&cursors) };
		const char *gparams[] = { idlist_text(&gids),
		    idlist_text(&gcursors) };

		ev.state = EVENTS_FETCHING;
		/* One count held until both are asked: a connection lost on
		 * the way answers its queries at once. */
		b->pending = 1;
		if (params[0] != NULL) {
			b->pending++;
			if (pg_query(hub->pg_events, &events_messages_stmt,
			    params, events_fetched, b) == -1) {
				b->failed = 1;
				b->pending--;
			}
		}
		if (gparams[0] != NULL) {
			b->pending++;
			if (pg_query(hub->pg_events, &events_groups_stmt,
			    gparams, events_groups_fetched, b) == -1) {
				b->failed = 1;
				b->pending--;
			}
		}
		events_fetch_done(b);
	}
	idlist_free(&ids);
	idlist_free(&cursors);
	idlist_free(&gids);
	idlist_free(&gcursors);
}

static void
events_horizon_found(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1) {
		ev.horizon = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
		snprintf(ev.moment, sizeof(ev.moment), "%s",
		    PQgetvalue(res, 0, 1));
		log_info("events: reading from transaction %llu on",
		    (unsigned long long)ev.horizon);
	}
	PQclear(res);
	ev.state = EVENTS_IDLE;
	/* After the horizon, before the first read, on this connection. */
	groups_load(hub);
	events_wake(hub);
}

uint64_t
events_horizon(void)
{
	return ev.horizon;
}

const char *
events_moment(void)
{
	return ev.horizon != 0 ? ev.moment : NULL;
}

void
events_sends_answered(struct hub *hub)
{
	struct events_batch *b = ev.parked;

	(void)hub;
	if (ev.state == EVENTS_PARKED) {
		ev.state = EVENTS_FETCHING;
		ev.parked = NULL;
		events_dispatch(b);
	}
}

void
events_connected(struct hub *hub)
{
	/* A batch still parked is read again from the same horizon. */
	events_batch_free(ev.parked);
	ev.parked = NULL;
	ev.again = 0;
	ev.state = EVENTS_IDLE;	/* lost with the connection: read again */
	/* Known horizon: keep it, so what happened while away is read. */
	if (ev.horizon != 0) {
		groups_load(hub);	/* unless loaded already */
		events_wake(hub);
		return;
	}
	ev.state = EVENTS_FINDING;
	if (pg_query(hub->pg_events, &events_horizon_stmt, NULL,
	    events_horizon_found, hub) == -1)
		ev.state = EVENTS_IDLE;
}

void
events_wake(struct hub *hub)
{
	char horizon[24];
	const char *params[] = { horizon };

	if (ev.horizon == 0 || !pg_connected(hub->pg_events))
		return;
	if (ev.state != EVENTS_IDLE) {
		ev.again = 1;
		return;
	}
	/* This read takes in what a lazy one would have. */
	if (ev.lazy) {
		ev.lazy = 0;
		timer_cancel(&ev.lazy_timer);
	}
	ev.state = EVENTS_READING;
	ev.started++;
	snprintf(horizon, sizeof(horizon), "%llu",
	    (unsigned long long)ev.horizon);
	if (pg_query(hub->pg_events, &events_read_stmt, params, events_read,
	    hub) == -1)
		events_read_over(hub, 0);
}

uint64_t
events_fresh_read(struct hub *hub)
{
	if (ev.horizon == 0 || !pg_connected(hub->pg_events))
		return 0;
	if (ev.state != EVENTS_IDLE) {
		/* Under way, so begun before: the next one. */
		ev.again = 1;
		return ev.started + 1;
	}
	events_wake(hub);
	return ev.state != EVENTS_IDLE ? ev.started : 0;
}

int
events_read_done(uint64_t read)
{
	return ev.over >= read;
}

/* Whether accounts (ids separated by spaces, or a uuid[] literal,
 * "{a,b}") names one held here. */
static int
events_concern(struct hub *hub, const char *accounts)
{
	char id[UUID_TEXT_SIZE];
	const char *p = accounts, *end = accounts + strlen(accounts);

	for (;;) {
		p += strspn(p, "{}, ");
		if (end - p < UUID_TEXT_SIZE - 1)
			return 0;
		memcpy(id, p, UUID_TEXT_SIZE - 1);
		id[UUID_TEXT_SIZE - 1] = '\0';
		if (hub_account_online(hub, id))
			return 1;
		p += UUID_TEXT_SIZE - 1;
	}
}

void
events_heard(struct hub *hub, const char *payload)
{
	if (payload == NULL || payload[0] == '\0' ||
	    events_concern(hub, payload)) {
		events_wake(hub);
		return;
	}
	events_soon(hub);
}

void
events_marks_committed(struct pg *pg, const char *senders)
{
	pg_wake_others(pg, ev.hub->node_id, senders);
	if (events_concern(ev.hub, senders))
		events_wake(ev.hub);
}

void
events_soon(struct hub *hub)
{
	if (!ev.lazy)
		events_later(hub, EVENTS_LAZY_US);
}

void
events_typing(struct hub *hub, const char *payload)
{
	char to[UUID_TEXT_SIZE];
	const char *frame = strchr(payload, ' ');
	struct outmsg *msg;

	if (frame == NULL || frame - payload != UUID_TEXT_SIZE - 1)
		return;
	memcpy(to, payload, UUID_TEXT_SIZE - 1);
	to[UUID_TEXT_SIZE - 1] = '\0';
	if (!hub_account_online(hub, to))
		return;
	frame++;
	if ((msg = outmsg_new(frame, strlen(frame))) != NULL) {
		hub_send(hub, to, msg, NULL);
		outmsg_unref(msg);
	}
}
