#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "events.h"
#include "groups.h"
#include "hub.h"
#include "idlist.h"
#include "log.h"
#include "presence.h"
#include "replay.h"
#include "timer.h"
#include "welcome.h"

/* Sessions in one registration at most; more wait for the next. */
#define WELCOME_BATCH_MAX	500
/*
 * A registration that fails with an SQL error (not a lost connection) is
 * tried again after a pause, this many times in all; then its connections
 * close with 1011 and their clients reconnect, rather than wait without
 * online_friends nor their messages until the next database reconnection.
 */
#define WELCOME_TRIES		3
#define WELCOME_RETRY_US	(500 * LWS_US_PER_MS)

static struct pg_stmt welcome_connect_stmt = PG_STMT("wl_connect", 3,
    "SELECT * FROM push_connect_many($1, $2, $3)");
static struct pg_stmt welcome_undelivered_stmt = PG_STMT("wl_undelivered", 3,
    "SELECT * FROM push_undelivered_many($1, $2, $3)");

/* A session waiting for registration, and its failed tries so far. */
struct welcome_ref {
	struct session_ref	 ref;
	int			 tries;
};

struct welcome_batch;

/* Sessions waiting for registration; one batch in flight at a time. */
static struct {
	struct welcome_ref	*refs;
	size_t			 n, cap;
	int			 in_flight;
	int			 pausing;	/* after a failed registration */
	lws_sorted_usec_list_t	 pause;
	struct hub		*hub;		/* for the end of the pause */
	struct welcome_batch	*reading;	/* registered, waiting for a read */
} wl;

struct welcome_batch {
	struct hub		*hub;
	struct welcome_ref	*refs;
	size_t			 n;
	uint64_t		 read;		/* begun after its registration */
	struct welcome_batch	*next;		/* in wl.reading */
};

static void welcome_flush(struct hub *hub);

static void
welcome_batch_free(struct welcome_batch *b)
{
	free(b->refs);
	free(b);
}

/* One new_message of the initial frames, from the query or held. */
struct welcome_initial {
	const char	*created_at;
	const char	*message_id;
	struct outmsg	*msg;
};

static int
welcome_initial_cmp(const void *a, const void *b)
{
	const struct welcome_initial *x = a, *y = b;
	int c = strcmp(x->created_at, y->created_at);

	return c != 0 ? c : strcmp(x->message_id, y->message_id);
}

/*
 * Queues the initial messages of s, rows [first, first + n) of res (columns
 * account, message_id, created_at, frame, snapshot_xmax), merged with the
 * messages that events pushed meanwhile (held), in created_at order, each
 * once; they are marked delivered as they are written. Their ids are kept
 * until the event reader is past the query's snapshot, so that their own
 * events do not send them again.
 */
static void
welcome_messages(struct session *s, const PGresult *res, int first, int n)
{
	size_t max = (size_t)s->hub->cfg->push_undelivered_max + 1;
	struct welcome_initial *all = calloc((size_t)n + max, sizeof(*all));
	char (*ids)[UUID_TEXT_SIZE] = calloc((size_t)n + 1, UUID_TEXT_SIZE);
	struct outmsg **held = calloc(max, sizeof(*held));
	size_t count = 0, nheld;

	if (all == NULL || ids == NULL || held == NULL)
		goto done;
	for (int i = 0; i < n; i++) {
		int row = first + i;
		struct outmsg *msg = outmsg_new(PQgetvalue(res, row, 3),
		    (size_t)PQgetlength(res, row, 3));

		if (msg == NULL)
			continue;
		memcpy(msg->message_id, PQgetvalue(res, row, 1), UUID_TEXT_SIZE);
		memcpy(msg->receiver_id, s->account_id, UUID_TEXT_SIZE);
		all[count].created_at = PQgetvalue(res, row, 2);
		all[count].message_id = PQgetvalue(res, row, 1);
		all[count++].msg = msg;
		memcpy(ids[i], PQgetvalue(res, row, 1), UUID_TEXT_SIZE);
	}
	nheld = session_take_held_messages(s, held, max - 1);
	for (size_t i = 0; i < nheld; i++) {
		all[count].created_at = held[i]->created_at;
		all[count].message_id = held[i]->message_id;
		all[count++].msg = held[i];
	}
	qsort(all, count, sizeof(*all), welcome_initial_cmp);
	for (size_t i = 0; i < count; i++)
		if (i == 0 || strcmp(all[i].message_id, all[i - 1].message_id))
			session_push_initial(s, all[i].msg);
	if (n > 0)
		session_set_initial(s, ids, (size_t)n,
		    strtoull(PQgetvalue(res, first, 4), NULL, 10));
done:
	for (size_t i = 0; i < count; i++)
		outmsg_unref(all[i].msg);
	free(all);
	free(held);
	free(ids);
}

/*
 * The answer to the batch's query of undelivered messages, for its
 * sessions still WELCOMING. Without one (an SQL error, out of memory) they
 * are WELCOMED all the same: their messages stay undelivered, for their
 * next connection. On a lost connection (lost) they are REGISTERED again,
 * and registered anew once it is back (welcome_all).
 */
static void
welcome_answered(struct welcome_batch *b, PGresult *res, int lost)
{
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
	int rows = ok ? PQntuples(res) : 0;

	for (size_t k = 0; k < b->n; k++) {
		struct session *s = hub_find(b->hub, &b->refs[k].ref);
		int first = -1, n = 0;

		if (s == NULL || s->state != SESSION_WELCOMING || session_has_since(s))
			continue;
		if (lost) {
			session_set_state(s, SESSION_REGISTERED);
			continue;
		}
		/* Rows are grouped by account. */
		for (int i = 0; i < rows; i++) {
			if (strcmp(PQgetvalue(res, i, 0), s->account_id) != 0)
				continue;
			if (first == -1)
				first = i;
			n++;
		}
		if (n > 0)
			welcome_messages(s, res, first, n);
		session_set_state(s, SESSION_WELCOMED);
	}
	PQclear(res);
	welcome_batch_free(b);
}

static void
welcome_undelivered(void *arg, PGresult *res)
{
	welcome_answered(arg, res, res == NULL);
}

/*
 * The first frames of the batch's sessions: those REGISTERED are
 * WELCOMING from now on (a session registered again after a reconnection,
 * WELCOMED already, is not welcomed twice). Those with `since` get the
 * replay of their stream (replay.c), the others their undelivered
 * messages.
 */
static void
welcome_fetch_messages(struct welcome_batch *b)
{
	struct hub *hub = b->hub;
	struct idlist accounts = IDLIST_EMPTY;
	struct session_ref *replays;
	size_t nreplays = 0;
	char max[16], horizon[24];
	const char *params[3];

	if ((replays = calloc(b->n, sizeof(*replays))) == NULL) {
		welcome_answered(b, NULL, 0);
		return;
	}
	for (size_t k = 0; k < b->n; k++) {
		struct session *s = hub_find(hub, &b->refs[k].ref);

		if (s == NULL || s->state != SESSION_REGISTERED)
			continue;
		session_set_state(s, SESSION_WELCOMING);
		/* A connection of the per-group URL gets no undelivered
		 * messages: only its group's frames, from now on. */
		if (s->group_id[0] != '\0')
			session_set_state(s, SESSION_WELCOMED);
		else if (session_has_since(s))
			replays[nreplays++] = b->refs[k].ref;
		else if (idlist_add(&accounts, s->account_id) == -1) {
			idlist_free(&accounts);
			free(replays);
			welcome_answered(b, NULL, 0);
			return;
		}
	}
	if (nreplays > 0)
		replay_sessions(hub, replays, nreplays);
	free(replays);
	if (idlist_text(&accounts) == NULL) {
		welcome_batch_free(b);
		return;
	}
	snprintf(max, sizeof(max), "%d", hub->cfg->push_undelivered_max);
	snprintf(horizon, sizeof(horizon), "%llu",
	    (unsigned long long)events_horizon());
	params[0] = idlist_text(&accounts);
	params[1] = max;
	params[2] = events_horizon() > 0 ? horizon : NULL;
	if (pg_query(hub->pg, &welcome_undelivered_stmt, params,
	    welcome_undelivered, b) == -1)
		welcome_answered(b, NULL, !pg_connected(hub->pg));
	idlist_free(&accounts);
}

/*
 * Asks for b's undelivered messages once an event read that began after
 * its registration committed is over: at once, or from
 * welcome_events_read(). That read meets a fresh horizon (a daemon holding
 * neither side of a change reads it up to 200 ms later, or at its periodic
 * read when nobody held either side), and it takes in
 * every change whose wake-up this registration came too late to cause
 * (wake_push_daemons wakes nobody for accounts no connection
 * is registered for).
 */
static void
welcome_fetch_after_read(struct welcome_batch *b)
{
	b->read = events_fresh_read(b->hub);
	if (events_read_done(b->read)) {
		welcome_fetch_messages(b);
		return;
	}
	b->next = wl.reading;
	wl.reading = b;
}

void
welcome_events_read(struct hub *hub)
{
	/* Taken off the list first: a fetch may not find it as it was. */
	struct welcome_batch *b, *next, *waiting = wl.reading;

	(void)hub;
	wl.reading = NULL;
	for (b = waiting; b != NULL; b = next) {
		next = b->next;
		if (events_read_done(b->read))
			welcome_fetch_messages(b);
		else {
			b->next = wl.reading;
			wl.reading = b;
		}
	}
}

/* Drops the batches waiting for a read: their sessions are welcomed
 * again, or closed. */
static void
welcome_drop_reading(void)
{
	struct welcome_batch *b;

	while ((b = wl.reading) != NULL) {
		wl.reading = b->next;
		welcome_batch_free(b);
	}
}

/* Appends a session to the waiting list; -1 out of memory. */
static int
welcome_queue(const struct session_ref *ref, int tries)
{
	if (wl.n == wl.cap) {
		size_t cap = wl.cap == 0 ? 64 : wl.cap * 2;
		struct welcome_ref *grown = realloc(wl.refs,
		    cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		wl.refs = grown;
		wl.cap = cap;
	}
	wl.refs[wl.n].ref = *ref;
	wl.refs[wl.n++].tries = tries;
	return 0;
}

static void
welcome_pause_over(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	wl.pausing = 0;
	welcome_flush(wl.hub);
}

/*
 * The registration of b failed with an SQL error: its open sessions wait
 * again, and the next registration waits for a pause; a session that
 * failed WELCOME_TRIES times closes with 1011.
 */
static void
welcome_retry(struct welcome_batch *b)
{
	size_t closed = 0;

	for (size_t k = 0; k < b->n; k++) {
		struct session *s = hub_find(b->hub, &b->refs[k].ref);
		int tries = b->refs[k].tries + 1;

		if (s == NULL || s->state == SESSION_CLOSING)
			continue;
		if (tries >= WELCOME_TRIES ||
		    welcome_queue(&b->refs[k].ref, tries) == -1) {
			session_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
			closed++;
		}
	}
	log_warnx("welcome: registering %zu connections failed; %zu of them "
	    "closed (1011), the others try again", b->n, closed);
	wl.hub = b->hub;
	wl.pausing = 1;
	timer_schedule(b->hub->ctx, &wl.pause, welcome_pause_over,
	    WELCOME_RETRY_US);
}

/* The registration answered: a row per connection, by connection id. */
static void
welcome_registered(void *arg, PGresult *res)
{
	struct welcome_batch *b = arg;
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
	int events = 0;

	for (int i = 0; ok && i < PQntuples(res); i++) {
		unsigned long long id = strtoull(PQgetvalue(res, i, 0), NULL, 10);

		events += (int)strtol(PQgetvalue(res, i, 2), NULL, 10);
		for (size_t k = 0; k < b->n; k++) {
			struct session *s;

			if (b->refs[k].ref.id != id)
				continue;
			s = hub_find(b->hub, &b->refs[k].ref);
			if (s == NULL || s->state == SESSION_CLOSING) {
				/* Closed meanwhile, or closing: its row goes
				 * again. */
				if (!PQgetisnull(res, i, 1))
					presence_close_id(b->hub, id);
				continue;
			}
			if (PQgetisnull(res, i, 1)) {
				/* The account is gone. */
				session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
				continue;
			}
			/* A WELCOMED session registered again stays so. A
			 * connection of the per-group URL gets online_members
			 * instead of online_friends. */
			if (s->state != SESSION_REGISTERING ||
			    session_set_state(s, SESSION_REGISTERED) == -1)
				continue;
			if (s->group_id[0] != '\0')
				groups_registered(b->hub, s);
			else
				session_send_text(s, PQgetvalue(res, i, 1));
		}
	}
	if (events > 0)
		events_notify(b->hub, NULL);
	if (!ok && res != NULL)
		welcome_retry(b);
	PQclear(res);
	wl.in_flight = 0;
	welcome_flush(b->hub);
	if (ok)
		welcome_fetch_after_read(b);
	else
		welcome_batch_free(b);	/* lost: they wait for the reconnection */
}

static char *
welcome_batch_json(const struct welcome_batch *b)
{
	struct json_object *arr = json_object_new_array();
	char *text = NULL, id[24];

	if (arr == NULL)
		return NULL;
	for (size_t k = 0; k < b->n; k++) {
		struct json_object *item = json_object_new_object();

		if (item == NULL)
			goto done;
		snprintf(id, sizeof(id), "%llu",
		    (unsigned long long)b->refs[k].ref.id);
		json_object_object_add(item, "conn", json_object_new_string(id));
		json_object_object_add(item, "account",
		    json_object_new_string(b->refs[k].ref.account_id));
		json_object_array_add(arr, item);
	}
	text = strdup(json_object_to_json_string_ext(arr,
	    JSON_C_TO_STRING_PLAIN));
done:
	json_object_put(arr);
	return text;
}

/* Sends the waiting sessions' registration unless one is in flight. */
static void
welcome_flush(struct hub *hub)
{
	struct welcome_batch *b;
	char timeout[16], *json;
	const char *params[3];
	size_t n = wl.n < WELCOME_BATCH_MAX ? wl.n : WELCOME_BATCH_MAX;

	if (wl.in_flight || wl.pausing || n == 0 || !pg_connected(hub->pg))
		return;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->refs = calloc(n, sizeof(*b->refs))) == NULL) {
		free(b);
		return;
	}
	b->hub = hub;
	b->n = n;
	memcpy(b->refs, wl.refs, n * sizeof(*b->refs));
	memmove(wl.refs, wl.refs + n, (wl.n - n) * sizeof(*wl.refs));
	wl.n -= n;

	json = welcome_batch_json(b);
	snprintf(timeout, sizeof(timeout), "%d",
	    hub->cfg->presence_timeout_seconds);
	params[0] = hub->node_id;
	params[1] = json;
	params[2] = timeout;
	/* Marked first: a connection lost on the way answers at once, and
	 * its answer clears the mark. */
	wl.in_flight = 1;
	if (json == NULL || pg_query(hub->pg, &welcome_connect_stmt, params,
	    welcome_registered, b) == -1) {
		wl.in_flight = 0;
		welcome_batch_free(b);
	}
	free(json);
}

void
welcome_session(struct hub *hub, struct session *s)
{
	struct session_ref ref;

	if (s->state == SESSION_CLOSING)
		return;
	/* Registered anew after a reconnection, and welcomed once. */
	if (s->state == SESSION_REGISTERED || s->state == SESSION_WELCOMING)
		session_set_state(s, SESSION_REGISTERING);
	session_ref(s, &ref);
	if (welcome_queue(&ref, 0) == -1) {
		/* Out of memory: closed, rather than left pending for ever. */
		session_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		return;
	}
	welcome_flush(hub);
}

static void
welcome_again(struct session *s, void *arg)
{
	welcome_session(arg, s);
}

void
welcome_all(struct hub *hub)
{
	/* The connection that had a batch in flight is gone with it. */
	wl.in_flight = 0;
	wl.n = 0;
	wl.pausing = 0;
	timer_cancel(&wl.pause);
	welcome_drop_reading();
	hub_each(hub, welcome_again, hub);
}

void
welcome_free(void)
{
	welcome_drop_reading();
	free(wl.refs);
	memset(&wl, 0, sizeof(wl));
}
