/*
 * Unit tests of push-daemon/session.c: a connection's states and the
 * moves between lists they make, events held until the welcome, and the
 * cap on the ids of its own sends (no echo).
 */
#include "session.c"

#include "check.h"
#include "delivery.h"
#include "push_stubs.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define BEFORE	"2000-01-01T00:00:00.000000Z"	/* before any opening */
#define AFTER	"2999-01-01T00:00:00.000000Z"

static struct config test_cfg;
static struct session_index test_index;

static void
test_setup(void)
{
	memset(&test_cfg, 0, sizeof(test_cfg));
	test_cfg.push_max_queue_bytes = 1 << 20;
	test_cfg.push_max_per_account = 2;
	if (session_index_init(&test_index, &test_cfg) == -1)
		abort();
}

static void
test_teardown(void)
{
	session_index_free(&test_index);
	delivery_free();
}

/* A session of account, open as the handshake leaves it (OPENING). */
static struct session *
test_session(const char *account, struct stub_wsi *w, uint64_t id)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	memcpy(s->account_id, account, UUID_TEXT_SIZE);
	session_open(s, STUB_WSI(w), &test_index, id);
	return s;
}

static void
test_free(struct session *s)
{
	session_set_state(s, SESSION_CLOSED);
	free(s);
}

static struct outmsg *
test_frame(const char *text, const char *message_id, const char *receiver,
    const char *created_at)
{
	struct outmsg *msg = outmsg_new(text, strlen(text));

	if (message_id != NULL) {
		memcpy(msg->message_id, message_id, UUID_TEXT_SIZE);
		memcpy(msg->receiver_id, receiver, UUID_TEXT_SIZE);
		snprintf(msg->created_at, sizeof(msg->created_at), "%s",
		    created_at);
	}
	return msg;
}

/* Queues an event frame, as events.c does. */
static void
test_push(struct session *s, const char *text)
{
	struct outmsg *msg = test_frame(text, NULL, NULL, NULL);

	session_push(s, msg);
	outmsg_unref(msg);
}

static void
test_life(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;

	test_setup();
	s = test_session(A, &w, 1);
	CHECK(s->state == SESSION_OPENING);
	CHECK(session_index_first(&test_index, A) == NULL);

	/* Only the changes of the protocol. */
	CHECK(session_set_state(s, SESSION_WELCOMED) == -1);
	CHECK(session_set_state(s, SESSION_REGISTERED) == -1);
	CHECK(s->state == SESSION_OPENING);

	CHECK(session_set_state(s, SESSION_REGISTERING) == 0);
	CHECK(session_index_first(&test_index, A) == s);
	CHECK(test_index.count == 1);
	CHECK(session_set_state(s, SESSION_WELCOMING) == -1);
	CHECK(!s->registered);
	CHECK(session_set_state(s, SESSION_REGISTERED) == 0);
	CHECK(s->registered);
	CHECK(session_set_state(s, SESSION_WELCOMING) == 0);
	/* Its query lost with the connection, then registered anew. */
	CHECK(session_set_state(s, SESSION_REGISTERED) == 0);
	CHECK(session_set_state(s, SESSION_REGISTERING) == 0);
	CHECK(session_set_state(s, SESSION_REGISTERED) == 0);
	CHECK(session_set_state(s, SESSION_WELCOMING) == 0);
	CHECK(session_set_state(s, SESSION_WELCOMED) == 0);
	/* Welcomed once. */
	CHECK(session_set_state(s, SESSION_REGISTERING) == -1);
	CHECK(session_set_state(s, SESSION_WELCOMING) == -1);
	CHECK(s->state == SESSION_WELCOMED);

	session_close(s, LWS_CLOSE_STATUS_GOINGAWAY);
	CHECK(s->state == SESSION_CLOSING);
	CHECK(s->close_code == LWS_CLOSE_STATUS_GOINGAWAY);
	/* A second close keeps the first code. */
	session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	CHECK(s->close_code == LWS_CLOSE_STATUS_GOINGAWAY);
	CHECK(session_set_state(s, SESSION_WELCOMED) == -1);
	CHECK(session_index_first(&test_index, A) == s);	/* until closed */
	CHECK(session_set_state(s, SESSION_CLOSED) == 0);
	CHECK(session_index_first(&test_index, A) == NULL);
	CHECK(test_index.count == 0);
	CHECK(session_set_state(s, SESSION_CLOSED) == -1);
	free(s);
	test_teardown();
}

/* The index takes push.max_per_account sessions of an account. */
static void
test_account_cap(void)
{
	struct stub_wsi w1 = { 0 }, w2 = { 0 }, w3 = { 0 }, w4 = { 0 };
	struct session *s1, *s2, *s3, *s4;

	test_setup();
	s1 = test_session(A, &w1, 1);
	s2 = test_session(A, &w2, 2);
	s3 = test_session(A, &w3, 3);
	s4 = test_session(B, &w4, 4);
	CHECK(session_set_state(s1, SESSION_REGISTERING) == 0);
	CHECK(session_set_state(s2, SESSION_REGISTERING) == 0);
	CHECK(!session_index_has_room(&test_index, A));
	CHECK(session_set_state(s3, SESSION_REGISTERING) == -1);
	CHECK(s3->state == SESSION_OPENING);
	CHECK(session_set_state(s4, SESSION_REGISTERING) == 0);
	CHECK(test_index.count == 3);
	/* Refused at the handshake, or not let in: out of the index. */
	test_free(s3);
	CHECK(test_index.count == 3);
	test_free(s1);
	CHECK(session_index_first(&test_index, A) == s2);
	CHECK(s2->next_of_account == NULL);
	CHECK(session_index_has_room(&test_index, A));
	test_free(s2);
	test_free(s4);
	CHECK(test_index.count == 0);
	test_teardown();
}

/*
 * Events wait until the session is WELCOMED; then they follow the initial
 * frames. Replies go at once.
 */
static void
test_held_until_welcomed(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;
	struct outmsg *m1, *m2;
	const char *const before[] = { "established", "friends", NULL };
	const char *const after[] = { "established", "friends", "m1", "m2",
		"event 1", "event 2", "event 3", "event 4", NULL };

	test_setup();
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	session_send_text(s, "established");
	test_push(s, "event 1");
	session_set_state(s, SESSION_REGISTERED);
	session_send_text(s, "friends");
	test_push(s, "event 2");
	session_set_state(s, SESSION_WELCOMING);
	test_push(s, "event 3");
	stub_write_all(s);
	CHECK(stub_got(&w, before));

	m1 = test_frame("m1", A, A, BEFORE);
	m2 = test_frame("m2", B, A, BEFORE);
	session_push_initial(s, m1);
	session_push_initial(s, m2);
	outmsg_unref(m1);
	outmsg_unref(m2);
	CHECK(session_set_state(s, SESSION_WELCOMED) == 0);
	CHECK(s->held.head == NULL);
	test_push(s, "event 4");
	stub_write_all(s);
	CHECK(stub_got(&w, after));
	test_free(s);
	stub_wsi_clear(&w);
	test_teardown();
}

/* CLOSING empties every list; nothing enters them any more. */
static void
test_closing(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;

	test_setup();
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	session_send_text(s, "established");
	test_push(s, "event");
	session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
	CHECK(s->queue.head == NULL && s->held.head == NULL &&
	    s->backlog.head == NULL && s->queued_bytes == 0);
	session_send_text(s, "reply");
	test_push(s, "event");
	CHECK(s->queue.head == NULL && s->held.head == NULL);
	CHECK(session_writeable(s) == -1);
	CHECK(w.closed && w.n == 0);
	test_free(s);
	test_teardown();
}

/* A client that does not read is closed once its queue passes the cap. */
static void
test_queue_cap(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;
	char big[1000];

	test_setup();
	test_cfg.push_max_queue_bytes = 2500;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	session_set_state(s, SESSION_REGISTERED);
	session_set_state(s, SESSION_WELCOMING);
	session_set_state(s, SESSION_WELCOMED);
	test_push(s, big);
	test_push(s, big);
	CHECK(s->state == SESSION_WELCOMED);
	test_push(s, big);
	CHECK(s->state == SESSION_CLOSING);
	CHECK(s->close_code == LWS_CLOSE_STATUS_POLICY_VIOLATION);
	test_free(s);
	test_teardown();
}

static void
test_id(char out[UUID_TEXT_SIZE], unsigned int n)
{
	snprintf(out, UUID_TEXT_SIZE, "00000000-0000-4000-8000-%012u", n);
}

/* The ids of its own sends: at most SESSION_SENT_MAX, the oldest goes. */
static void
test_sent_cap(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;
	char id[UUID_TEXT_SIZE];

	test_setup();
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	for (unsigned int i = 0; i < SESSION_SENT_MAX; i++) {
		test_id(id, i);
		session_remember_send(s, id);
	}
	CHECK(s->nsent == SESSION_SENT_MAX);
	test_id(id, 0);
	CHECK(session_sent(s, id));
	test_id(id, SESSION_SENT_MAX);
	session_remember_send(s, id);
	CHECK(s->nsent == SESSION_SENT_MAX);
	CHECK(session_sent(s, id));
	test_id(id, 0);
	CHECK(!session_sent(s, id));
	test_id(id, 1);
	CHECK(session_sent(s, id));
	/* Its event read: forgotten. */
	session_forget_send(s, id);
	CHECK(!session_sent(s, id));
	CHECK(s->nsent == SESSION_SENT_MAX - 1);
	test_free(s);
	test_teardown();
}

/* Until its query of undelivered messages goes out, a message created
 * before the session opened is left to that query. */
static void
test_welcome_covers(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;
	struct outmsg *old = test_frame("old", A, A, BEFORE);
	struct outmsg *fresh = test_frame("fresh", B, A, AFTER);

	test_setup();
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	CHECK(session_welcome_covers(s, old));
	CHECK(!session_welcome_covers(s, fresh));
	session_set_state(s, SESSION_REGISTERED);
	CHECK(session_welcome_covers(s, old));
	session_set_state(s, SESSION_WELCOMING);
	CHECK(!session_welcome_covers(s, old));
	session_set_state(s, SESSION_WELCOMED);
	CHECK(!session_welcome_covers(s, old));
	outmsg_unref(old);
	outmsg_unref(fresh);
	test_free(s);
	test_teardown();
}

/* The initial messages are skipped by their events until the horizon
 * passes the welcome query's snapshot. */
static void
test_sent_initially(void)
{
	struct stub_wsi w = { 0 };
	struct session *s;
	char ids[2][UUID_TEXT_SIZE] = { A, B };

	test_setup();
	s = test_session(A, &w, 1);
	session_set_state(s, SESSION_REGISTERING);
	session_set_initial(s, ids, 2, 500);
	CHECK(session_sent_initially(s, A, 400));
	CHECK(session_sent_initially(s, B, 400));
	CHECK(session_sent_initially(s, B, 500));	/* then let go */
	CHECK(!session_sent_initially(s, A, 501));
	CHECK(s->initial == NULL);
	test_free(s);
	test_teardown();
}

int
main(void)
{
	log_init("test_session", LOG_LEVEL_ERROR);
	test_life();
	test_account_cap();
	test_held_until_welcomed();
	test_closing();
	test_queue_cap();
	test_sent_cap();
	test_welcome_covers();
	test_sent_initially();
	return check_done("test_session");
}
