/*
 * Unit tests of push-daemon/welcome.c, a new connection's first frames:
 * its query of undelivered messages waits for an event read begun after
 * its registration, and its answer is merged with what events pushed
 * meanwhile, in time order and each message once; a reconnection
 * registers every session again and welcomes only those not welcomed.
 */
#include "welcome.c"

#include "check.h"
#include "delivery.h"
#include "push_stubs.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"	/* sender */
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"	/* new connection */
#define C	"c2d29867-3d0b-4497-9f5d-8a6e4e0e2f11"
#define F	"d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6"	/* a friend of B */
#define M0	"00000000-0000-4000-8000-000000000000"
#define M1	"00000000-0000-4000-8000-000000000001"
#define M2	"00000000-0000-4000-8000-000000000002"
#define M3	"00000000-0000-4000-8000-000000000003"
#define M4	"00000000-0000-4000-8000-000000000004"
#define T0	"2000-01-01T00:00:00.000000Z"	/* before any opening */
#define T1	"2999-01-01T00:00:01.000000Z"
#define T2	"2999-01-01T00:00:02.000000Z"
#define T3	"2999-01-01T00:00:03.000000Z"
#define T4	"2999-01-01T00:00:04.000000Z"
#define FRIEND_ONLINE	"{\"type\": \"friend_online\", \"user_id\": \"" F "\"}"

static struct config test_cfg;
static struct hub test_hub;

/* The reader, connected, with its horizon at 100 and no read under way. */
static void
test_setup(void)
{
	stub_hub_init(&test_hub, &test_cfg, welcome_events_read);
	test_cfg.push_undelivered_max = 100;
	test_cfg.presence_timeout_seconds = 30;
	events_connected(&test_hub);
	CHECK(stub_answer("ev_horizon", stub_horizon_at_100()) == 0);
	CHECK(stub_answer("ev_read", stub_read_nothing()) == 0);
}

static void
test_teardown(void)
{
	stub_hub_free(&test_hub);
	welcome_free();
}

/* A connection of account established (ws.c): registering. */
static struct session *
test_open(const char *account, struct stub_wsi *w)
{
	struct session *s = stub_session_open(&test_hub, account, w);

	CHECK(session_set_state(s, SESSION_REGISTERING) == 0);
	welcome_session(&test_hub, s);
	return s;
}

/* The connection closed (ws.c). */
static void
test_close(struct session *s, struct stub_wsi *w)
{
	presence_close(&test_hub, s);
	session_set_state(s, SESSION_CLOSED);
	free(s);
	stub_wsi_clear(w);
}

/* Answers the registration of one or two sessions: online_friends each. */
static void
test_register(struct session *s1, const char *frame1, struct session *s2,
    const char *frame2)
{
	char id1[24], id2[24];
	const char *rows[] = { id1, frame1, "0", id2, frame2, "0" };

	snprintf(id1, sizeof(id1), "%llu", (unsigned long long)s1->id);
	if (s2 != NULL)
		snprintf(id2, sizeof(id2), "%llu", (unsigned long long)s2->id);
	CHECK(stub_answer("wl_connect",
	    stub_result(3, s2 != NULL ? 2 : 1, rows)) == 0);
}

/* A read of nothing new, up to next_horizon. */
static void
test_read_nothing(const char *next_horizon)
{
	const char *const none[] = {
		next_horizon, NULL, NULL, NULL, NULL, NULL, "f", NULL, NULL,
		"2.2.0"
	};

	CHECK(stub_answer("ev_read", stub_result(10, 1, none)) == 0);
}

/*
 * The welcome of B: its undelivered messages merged with the events read
 * meanwhile, in created_at order and each once, then the other events.
 */
static void
test_merge(void)
{
	struct stub_wsi w = { 0 };
	struct session *b;
	/* The fresh read: M0 (created before B opened, delivered elsewhere
	 * since: left to the welcome's query, which does not send it) and
	 * M2 (held). */
	const char *const read1[] = {
		"200", "1", "message_created", A, B, M0, "f",
		"1.200.1", NULL, "200.200.0",
		"200", "2", "message_created", A, B, M2, "f",
		"1.200.2", NULL, "200.200.0",
	};
	const char *const fetch1[] = {
		M0, A, B, T0, "M0",
		M2, A, B, T2, "M2",
	};
	/* While its query runs: M3 and a friend coming online (held). */
	const char *const read2[] = {
		"220", "3", "message_created", A, B, M3, "f",
		"1.220.3", NULL, "220.220.0",
		"220", "4", "user_online", F, B, NULL, "f",
		NULL, FRIEND_ONLINE, "220.220.0",
	};
	const char *const fetch2[] = { M3, A, B, T3, "M3" };
	/* The query's answer: M1 not read by the events yet, M2 read. */
	const char *const undelivered[] = {
		B, M1, T1, "M1", "250",
		B, M2, T2, "M2", "250",
	};
	/* After: M1's own event (its read began before the query's
	 * snapshot), and M4. */
	const char *const read3[] = {
		"260", "5", "message_created", A, B, M1, "f",
		"1.260.5", NULL, "260.260.0",
		"260", "6", "message_created", A, B, M4, "f",
		"1.260.6", NULL, "260.260.0",
	};
	const char *const fetch3[] = {
		M1, A, B, T1, "M1",
		M4, A, B, T4, "M4",
	};
	const char *const welcomed[] = {
		"friends", "M1", "M2", "M3", FRIEND_ONLINE, NULL
	};
	const char *const after[] = {
		"friends", "M1", "M2", "M3", FRIEND_ONLINE, "M4", NULL
	};

	test_setup();
	b = test_open(B, &w);
	CHECK(b->state == SESSION_REGISTERING);
	CHECK(stub_pending("wl_connect") == 1);
	test_register(b, "friends", NULL, NULL);
	CHECK(b->state == SESSION_REGISTERED);
	CHECK(b->registered);

	/* Not before a read begun after the registration is over. */
	CHECK(stub_pending("wl_undelivered") == 0);
	CHECK(stub_pending("ev_read") == 1);
	CHECK(stub_answer("ev_read", stub_result(10, 2, read1)) == 0);
	CHECK(stub_pending("wl_undelivered") == 0);
	CHECK(stub_answer("ev_messages", stub_result(5, 2, fetch1)) == 0);
	CHECK(b->state == SESSION_WELCOMING);
	CHECK(stub_pending("wl_undelivered") == 1);
	CHECK(strcmp(stub_param("wl_undelivered", 0), "{" B "}") == 0);
	CHECK(strcmp(stub_param("wl_undelivered", 2), "200") == 0);

	events_wake(&test_hub);
	CHECK(stub_answer("ev_read", stub_result(10, 2, read2)) == 0);
	CHECK(stub_answer("ev_messages", stub_result(5, 1, fetch2)) == 0);
	stub_write_all(b);
	CHECK(w.n == 1);	/* online_friends only: the rest is held */

	CHECK(stub_answer("wl_undelivered",
	    stub_result(5, 2, undelivered)) == 0);
	CHECK(b->state == SESSION_WELCOMED);
	stub_write_all(b);
	CHECK(stub_got(&w, welcomed));

	events_wake(&test_hub);
	CHECK(stub_answer("ev_read", stub_result(10, 2, read3)) == 0);
	CHECK(stub_answer("ev_messages", stub_result(5, 2, fetch3)) == 0);
	stub_write_all(b);
	CHECK(stub_got(&w, after));
	test_close(b, &w);
	CHECK(stub_pending("pr_disconnect") == 1);
	test_teardown();
}

/*
 * The database connection lost while B's query runs: B is registered
 * again once it is back, and welcomed then; C, welcomed already, is
 * registered again and not welcomed twice.
 */
static void
test_reconnection(void)
{
	struct stub_wsi wb = { 0 }, wc = { 0 };
	struct session *b, *c;
	const char *const nothing[] = { NULL };
	const char *const got_b[] = { "friends b", "friends b", NULL };
	const char *const got_c[] = { "friends c", NULL };

	test_setup();
	c = test_open(C, &wc);
	test_register(c, "friends c", NULL, NULL);
	test_read_nothing("100");
	CHECK(stub_answer("wl_undelivered", stub_result(5, 0, nothing)) == 0);
	CHECK(c->state == SESSION_WELCOMED);

	b = test_open(B, &wb);
	test_register(b, "friends b", NULL, NULL);
	test_read_nothing("100");
	CHECK(b->state == SESSION_WELCOMING);
	CHECK(stub_answer("wl_undelivered", NULL) == 0);
	CHECK(b->state == SESSION_REGISTERED);

	welcome_all(&test_hub);
	CHECK(b->state == SESSION_REGISTERING);
	CHECK(c->state == SESSION_WELCOMED);
	CHECK(stub_pending("wl_connect") == 1);
	test_register(b, "friends b", c, "friends c");
	CHECK(b->state == SESSION_REGISTERED);
	CHECK(c->state == SESSION_WELCOMED);
	test_read_nothing("100");
	CHECK(b->state == SESSION_WELCOMING);
	CHECK(stub_answer("wl_undelivered", stub_result(5, 0, nothing)) == 0);
	CHECK(b->state == SESSION_WELCOMED);
	stub_write_all(b);
	stub_write_all(c);
	CHECK(stub_got(&wb, got_b));
	CHECK(stub_got(&wc, got_c));
	test_close(b, &wb);
	test_close(c, &wc);
	test_teardown();
}

/* A connection closed, or closing, before its registration is answered:
 * its presence row goes again. */
static void
test_closed_meanwhile(void)
{
	struct stub_wsi wb = { 0 }, wc = { 0 };
	struct session *b, *c;
	char id[24], ids[64];

	test_setup();
	presence_free();	/* the ends the tests before left */
	b = test_open(B, &wb);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)b->id);
	test_close(b, &wb);
	CHECK(stub_pending("pr_disconnect") == 0);	/* no row known */
	{
		const char *rows[] = { id, "friends", "0" };

		CHECK(stub_answer("wl_connect", stub_result(3, 1, rows)) == 0);
	}
	CHECK(stub_pending("pr_disconnect") == 1);
	snprintf(ids, sizeof(ids), "{%s}", id);
	CHECK(strcmp(stub_param("pr_disconnect", 1), ids) == 0);
	/* Lost with the connection: the end is kept, and goes again. */
	stub_lose_all();

	c = test_open(C, &wc);
	session_close(c, LWS_CLOSE_STATUS_GOINGAWAY);
	test_register(c, "friends", NULL, NULL);
	CHECK(c->state == SESSION_CLOSING);
	CHECK(stub_pending("pr_disconnect") == 1);
	snprintf(ids, sizeof(ids), "{%s,%llu}", id, (unsigned long long)c->id);
	CHECK(strcmp(stub_param("pr_disconnect", 1), ids) == 0);
	test_close(c, &wc);
	presence_free();
	test_teardown();
}

int
main(void)
{
	log_init("test_welcome", LOG_LEVEL_WARN);
	test_merge();
	test_reconnection();
	test_closed_meanwhile();
	return check_done("test_welcome");
}
