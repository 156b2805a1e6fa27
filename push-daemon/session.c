#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delivery.h"
#include "log.h"
#include "session.h"
#include "timer.h"

struct outmsg *
outmsg_new(const char *text, size_t len)
{
	struct outmsg *msg = malloc(sizeof(*msg) + LWS_PRE + len);

	if (msg == NULL)
		return NULL;
	msg->refs = 1;
	msg->len = len;
	msg->stream = 0;
	msg->group_id[0] = '\0';
	msg->message_id[0] = '\0';
	msg->receiver_id[0] = '\0';
	msg->created_at[0] = '\0';
	memcpy(msg->buf + LWS_PRE, text, len);
	return msg;
}

void
outmsg_unref(struct outmsg *msg)
{
	if (msg != NULL && --msg->refs == 0)
		free(msg);
}

/* In the index and not closing: frames may be queued. */
static int
session_is_open(const struct session *s)
{
	return s->state >= SESSION_REGISTERING && s->state <= SESSION_WELCOMED;
}

static void
session_list_clear(struct session_list *list)
{
	struct session_item *it, *next;

	for (it = list->head; it != NULL; it = next) {
		next = it->next;
		outmsg_unref(it->msg);
		free(it);
	}
	list->head = list->tail = NULL;
}

static void
session_clear(struct session *s)
{
	session_list_clear(&s->queue);
	session_list_clear(&s->held);
	session_list_clear(&s->backlog);
	s->queued_bytes = 0;
	s->queue_bytes = 0;
}

static void
session_list_append(struct session_list *list, struct session_item *it)
{
	if (list->tail != NULL)
		list->tail->next = it;
	else
		list->head = it;
	list->tail = it;
}

/* Appends msg to list; a capped frame past the cap closes with 1008. */
static void
session_append(struct session *s, struct session_list *list,
    struct outmsg *msg, int capped)
{
	struct session_item *it;

	if (!session_is_open(s) || msg == NULL || s->close_after != 0)
		return;
	if (capped && s->queued_bytes + msg->len >
	    (size_t)s->index->cfg->push_max_queue_bytes) {
		log_info("session %llu: outgoing queue full, closing",
		    (unsigned long long)s->id);
		session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		return;
	}
	if ((it = calloc(1, sizeof(*it))) == NULL)
		return;
	msg->refs++;
	it->msg = msg;
	it->capped = capped;
	if (capped)
		s->queued_bytes += msg->len;
	session_list_append(list, it);
	if (list == &s->queue) {
		s->queue_bytes += msg->len;
		lws_callback_on_writable(s->wsi);
	}
}

/* Moves backlog frames into the queue while it holds less than a quarter
 * of the cap. */
static void
session_refill(struct session *s)
{
	size_t low = (size_t)s->index->cfg->push_max_queue_bytes / 4;

	while (s->backlog.head != NULL && s->queue_bytes < low) {
		struct session_item *it = s->backlog.head;

		s->backlog.head = it->next;
		if (s->backlog.head == NULL)
			s->backlog.tail = NULL;
		it->next = NULL;
		session_list_append(&s->queue, it);
		s->queue_bytes += it->msg->len;
		lws_callback_on_writable(s->wsi);
	}
}

int
session_has_since(const struct session *s)
{
	return s->since[0] != '\0';
}

/* Whether msg goes to its replay instead of to s now. */
static int
session_replay_covers(const struct session *s, const struct outmsg *msg)
{
	return session_has_since(s) && msg->stream &&
	    (s->state == SESSION_REGISTERING || s->state == SESSION_REGISTERED);
}

void
session_push(struct session *s, struct outmsg *msg)
{
	struct session_list *list = s->state != SESSION_WELCOMED ? &s->held :
	    s->backlog.head != NULL ? &s->backlog : &s->queue;

	if (session_replay_covers(s, msg) || (s->group_id[0] != '\0' &&
	    strcmp(msg->group_id, s->group_id) != 0))
		return;
	session_append(s, list, msg, 1);
}

/* A replay to begin again: the held events of the stream are in it. */
static void
session_drop_held_stream(struct session *s)
{
	struct session_item **pp = &s->held.head, *prev = NULL;

	while (*pp != NULL) {
		struct session_item *it = *pp;

		if (!it->msg->stream) {
			prev = it;
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		if (s->held.tail == it)
			s->held.tail = prev;
		if (it->capped)
			s->queued_bytes -= it->msg->len;
		outmsg_unref(it->msg);
		free(it);
	}
}

void
session_push_now(struct session *s, struct outmsg *msg)
{
	session_append(s, &s->queue, msg, 1);
}

void
session_push_initial(struct session *s, struct outmsg *msg)
{
	session_append(s, &s->backlog, msg, 0);
	session_refill(s);
}

void
session_send_text(struct session *s, const char *text)
{
	struct outmsg *msg = outmsg_new(text, strlen(text));

	session_push_now(s, msg);
	outmsg_unref(msg);
}

void
session_close(struct session *s, int code)
{
	if (!session_is_open(s))
		return;
	s->close_code = code;
	session_set_state(s, SESSION_CLOSING);
}

static void
session_resume_reading(lws_sorted_usec_list_t *sul)
{
	struct session *s = lws_container_of(sul, struct session, resume);

	s->reading_paused = 0;
	lws_rx_flow_control(s->wsi, 1);
}

void
session_pause_reading(struct session *s, double seconds)
{
	if (s->reading_paused || !session_is_open(s))
		return;
	s->reading_paused = 1;
	lws_rx_flow_control(s->wsi, 0);
	timer_schedule(lws_get_context(s->wsi), &s->resume,
	    session_resume_reading, (lws_usec_t)(seconds * LWS_US_PER_SEC));
}

void
session_close_after(struct session *s, int code)
{
	if (!session_is_open(s) || s->close_after != 0)
		return;
	if (s->queue.head == NULL) {
		session_close(s, code);
		return;
	}
	/* What is not in the queue yet will not be sent. */
	session_list_clear(&s->held);
	session_list_clear(&s->backlog);
	s->close_after = code;
}

/* WELCOMED: the held events follow the initial frames, wherever those are. */
static void
session_release_held(struct session *s)
{
	struct session_item *it, *next;

	for (it = s->held.head; it != NULL; it = next) {
		next = it->next;
		it->next = NULL;
		if (s->backlog.head != NULL)
			session_list_append(&s->backlog, it);
		else {
			session_list_append(&s->queue, it);
			s->queue_bytes += it->msg->len;
		}
	}
	s->held.head = s->held.tail = NULL;
	session_refill(s);
	if (s->queue.head != NULL)
		lws_callback_on_writable(s->wsi);
}

int
session_writeable(struct session *s)
{
	struct session_item *it = s->queue.head;
	int n;

	if (s->state == SESSION_CLOSING) {
		lws_close_reason(s->wsi, (enum lws_close_status)s->close_code,
		    NULL, 0);
		return -1;
	}
	if (it == NULL)
		return 0;
	n = lws_write(s->wsi, it->msg->buf + LWS_PRE, it->msg->len,
	    LWS_WRITE_TEXT);
	if (n < (int)it->msg->len)
		return -1;
	s->queue.head = it->next;
	if (s->queue.head == NULL)
		s->queue.tail = NULL;
	s->queue_bytes -= it->msg->len;
	if (it->capped)
		s->queued_bytes -= it->msg->len;
	if (it->msg->message_id[0] != '\0' &&
	    strcmp(it->msg->receiver_id, s->account_id) == 0)
		delivery_written(it->msg->message_id);
	outmsg_unref(it->msg);
	free(it);
	session_refill(s);
	if (s->queue.head != NULL)
		lws_callback_on_writable(s->wsi);
	else if (s->close_after != 0) {
		int code = s->close_after;

		s->close_after = 0;
		session_close(s, code);
	}
	return 0;
}

void
session_ref(const struct session *s, struct session_ref *ref)
{
	memcpy(ref->account_id, s->account_id, UUID_TEXT_SIZE);
	ref->id = s->id;
}

/* Notes when s opened, as the API writes times. */
static void
session_opened(struct session *s)
{
	struct timespec now;
	struct tm tm;
	char date[32];

	s->opened_at[0] = '\0';
	if (clock_gettime(CLOCK_MONOTONIC, &s->opened_mono) == -1)
		memset(&s->opened_mono, 0, sizeof(s->opened_mono));
	if (clock_gettime(CLOCK_REALTIME, &now) == -1 ||
	    gmtime_r(&now.tv_sec, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return;
	snprintf(s->opened_at, sizeof(s->opened_at), "%.19s.%06uZ", date,
	    (unsigned int)(now.tv_nsec / 1000) % 1000000u);
}

void
session_open(struct session *s, struct lws *wsi, struct session_index *idx,
    uint64_t id)
{
	s->wsi = wsi;
	s->index = idx;
	s->id = id;
	session_opened(s);
}

int
session_welcome_covers(const struct session *s, const struct outmsg *msg)
{
	/* Times of the same fixed-width form compare as text. */
	return (s->state == SESSION_REGISTERING ||
	    s->state == SESSION_REGISTERED) &&
	    strcmp(msg->created_at, s->opened_at) < 0;
}

/* CLOSED: releases everything the session holds. */
static void
session_destroy(struct session *s)
{
	session_clear(s);
	if (s->reading_paused) {
		timer_cancel(&s->resume);
		s->reading_paused = 0;
	}
	free(s->initial);
	s->initial = NULL;
	s->ninitial = 0;
	free(s->sent);
	s->sent = NULL;
	s->nsent = s->sent_cap = 0;
	free(s->rx);
	s->rx = NULL;
	s->rx_len = 0;
	free(s->online_frame);
	s->online_frame = NULL;
}

size_t
session_take_held_messages(struct session *s, struct outmsg **msgs,
    size_t max)
{
	struct session_item **pp = &s->held.head, *prev = NULL;
	size_t n = 0;

	while (*pp != NULL && n < max) {
		struct session_item *it = *pp;

		if (it->msg->message_id[0] == '\0') {
			prev = it;
			pp = &it->next;
			continue;
		}
		*pp = it->next;
		if (s->held.tail == it)
			s->held.tail = prev;
		s->queued_bytes -= it->msg->len;
		msgs[n++] = it->msg;	/* the list's reference moves */
		free(it);
	}
	return n;
}

void
session_set_initial(struct session *s, char (*ids)[UUID_TEXT_SIZE], size_t n,
    uint64_t until)
{
	free(s->initial);
	s->initial = NULL;
	s->ninitial = 0;
	if (n == 0 || (s->initial = calloc(n, UUID_TEXT_SIZE)) == NULL)
		return;
	memcpy(s->initial, ids, n * UUID_TEXT_SIZE);
	s->ninitial = n;
	s->initial_until = until;
}

int
session_sent_initially(struct session *s, const char *message_id,
    uint64_t horizon)
{
	int found = 0;

	for (size_t i = 0; i < s->ninitial && !found; i++)
		found = strcmp(s->initial[i], message_id) == 0;
	if (s->initial != NULL && horizon >= s->initial_until) {
		free(s->initial);
		s->initial = NULL;
		s->ninitial = 0;
	}
	return found;
}

void
session_remember_send(struct session *s, const char *message_id)
{
	if (s->nsent == SESSION_SENT_MAX) {
		/* The oldest is the likeliest to have been read already. */
		memmove(s->sent, s->sent + 1, (s->nsent - 1) * UUID_TEXT_SIZE);
		s->nsent--;
	}
	if (s->nsent == s->sent_cap) {
		size_t cap = s->sent_cap != 0 ? 2 * s->sent_cap : 8;
		char (*grown)[UUID_TEXT_SIZE] = realloc(s->sent,
		    cap * UUID_TEXT_SIZE);

		if (grown == NULL)
			return;
		s->sent = grown;
		s->sent_cap = cap;
	}
	memcpy(s->sent[s->nsent++], message_id, UUID_TEXT_SIZE);
}

static int
session_sent_index(const struct session *s, const char *message_id)
{
	for (size_t i = 0; i < s->nsent; i++)
		if (strcmp(s->sent[i], message_id) == 0)
			return (int)i;
	return -1;
}

int
session_sent(const struct session *s, const char *message_id)
{
	return session_sent_index(s, message_id) != -1;
}

void
session_forget_send(struct session *s, const char *message_id)
{
	int i = session_sent_index(s, message_id);

	if (i == -1)
		return;
	memmove(s->sent + i, s->sent + i + 1,
	    (s->nsent - (size_t)i - 1) * UUID_TEXT_SIZE);
	if (--s->nsent == 0) {
		free(s->sent);
		s->sent = NULL;
		s->sent_cap = 0;
	}
}

int
session_index_init(struct session_index *idx, const struct config *cfg)
{
	idx->cfg = cfg;
	idx->count = 0;
	return idmap_init(&idx->accounts);
}

void
session_index_free(struct session_index *idx)
{
	idmap_free(&idx->accounts);
	idx->count = 0;
}

struct session *
session_index_first(const struct session_index *idx, const char *account_id)
{
	return idmap_get(&idx->accounts, account_id);
}

int
session_index_has_room(const struct session_index *idx, const char *account_id)
{
	int count = 0;

	for (struct session *s = session_index_first(idx, account_id);
	    s != NULL; s = s->next_of_account)
		count++;
	return count < idx->cfg->push_max_per_account;
}

/* Into the index, first of its account: -1 when there is no room. */
static int
session_link(struct session *s)
{
	struct session_index *idx = s->index;
	struct session *first = session_index_first(idx, s->account_id);

	if (!session_index_has_room(idx, s->account_id) ||
	    idmap_put(&idx->accounts, s->account_id, s) == -1)
		return -1;
	s->next_of_account = first;
	idx->count++;
	return 0;
}

static void
session_unlink(struct session *s)
{
	struct session_index *idx = s->index;
	struct session *first = session_index_first(idx, s->account_id), **pp;

	for (pp = &first; *pp != NULL; pp = &(*pp)->next_of_account) {
		if (*pp == s) {
			*pp = s->next_of_account;
			break;
		}
	}
	if (first == NULL)
		idmap_remove(&idx->accounts, s->account_id);
	else
		idmap_put(&idx->accounts, s->account_id, first);
	s->next_of_account = NULL;
	idx->count--;
}

#define SESSION_TO(state)	(1u << (state))

/* The changes allowed: from each state, the states it may go to. */
static const unsigned int session_moves[] = {
	[SESSION_OPENING] = SESSION_TO(SESSION_REGISTERING) |
	    SESSION_TO(SESSION_CLOSED),
	[SESSION_REGISTERING] = SESSION_TO(SESSION_REGISTERED) |
	    SESSION_TO(SESSION_CLOSING) | SESSION_TO(SESSION_CLOSED),
	[SESSION_REGISTERED] = SESSION_TO(SESSION_WELCOMING) |
	    SESSION_TO(SESSION_REGISTERING) | SESSION_TO(SESSION_CLOSING) |
	    SESSION_TO(SESSION_CLOSED),
	[SESSION_WELCOMING] = SESSION_TO(SESSION_WELCOMED) |
	    SESSION_TO(SESSION_REGISTERED) | SESSION_TO(SESSION_REGISTERING) |
	    SESSION_TO(SESSION_CLOSING) | SESSION_TO(SESSION_CLOSED),
	[SESSION_WELCOMED] = SESSION_TO(SESSION_CLOSING) |
	    SESSION_TO(SESSION_CLOSED),
	[SESSION_CLOSING] = SESSION_TO(SESSION_CLOSED),
	[SESSION_CLOSED] = 0,
};

static const char *const session_state_names[] = {
	[SESSION_OPENING] = "opening",
	[SESSION_REGISTERING] = "registering",
	[SESSION_REGISTERED] = "registered",
	[SESSION_WELCOMING] = "welcoming",
	[SESSION_WELCOMED] = "welcomed",
	[SESSION_CLOSING] = "closing",
	[SESSION_CLOSED] = "closed",
};

const char *
session_state_name(enum session_state state)
{
	if ((size_t)state >= sizeof(session_state_names) /
	    sizeof(session_state_names[0]))
		return "?";
	return session_state_names[state];
}

int
session_set_state(struct session *s, enum session_state state)
{
	enum session_state from = s->state;

	if ((size_t)from >= sizeof(session_moves) / sizeof(session_moves[0]) ||
	    (size_t)state >= sizeof(session_moves) / sizeof(session_moves[0]) ||
	    (session_moves[from] & SESSION_TO(state)) == 0) {
		log_errorx("session %llu: %s -> %s refused",
		    (unsigned long long)s->id, session_state_name(from),
		    session_state_name(state));
		return -1;
	}
	/* Into the index first: a session that cannot enter it stays out. */
	if (from == SESSION_OPENING && state == SESSION_REGISTERING &&
	    session_link(s) == -1)
		return -1;
	s->state = state;
	if (from == SESSION_WELCOMING && session_has_since(s) &&
	    (state == SESSION_REGISTERED || state == SESSION_REGISTERING))
		session_drop_held_stream(s);
	switch (state) {
	case SESSION_REGISTERED:
		s->registered = 1;
		break;
	case SESSION_WELCOMED:
		session_release_held(s);
		break;
	case SESSION_CLOSING:
		session_clear(s);
		lws_callback_on_writable(s->wsi);
		break;
	case SESSION_CLOSED:
		if (from != SESSION_OPENING)
			session_unlink(s);
		session_destroy(s);
		break;
	case SESSION_OPENING:
	case SESSION_REGISTERING:
	case SESSION_WELCOMING:
		break;
	}
	return 0;
}
