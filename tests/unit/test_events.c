/*
 * Unit tests of push-daemon/events.c, the event reader: a message is not
 * echoed to the connection that sent it, and a batch that could echo a
 * send still unanswered is parked until the answer.
 */
#include "events.c"

#include "check.h"
#include "delivery.h"
#include "push_stubs.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"	/* sender */
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"	/* receiver */
#define C	"c2d29867-3d0b-4497-9f5d-8a6e4e0e2f11"	/* held nowhere */
#define M	"9b2f3c1e-5a4d-4e6f-8a7b-1c2d3e4f5a6b"
#define N	"4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"
#define CREATED	"2999-01-01T00:00:00.000000Z"	/* after any opening */

static struct config test_cfg;
static struct hub test_hub;
static int test_reads_over;

static void
test_read_over(struct hub *hub)
{
	(void)hub;
	test_reads_over++;
}

/* The reader, connected, with its horizon at 100 and no read under way. */
static void
test_setup(void)
{
	stub_hub_init(&test_hub, &test_cfg, test_read_over);
	test_reads_over = 0;
	events_connected(&test_hub);
	CHECK(ev.state == EVENTS_FINDING);
	CHECK(stub_answer("ev_horizon", stub_horizon_at_100()) == 0);
	CHECK(ev.horizon == 100);
	CHECK(ev.state == EVENTS_READING);
	CHECK(strcmp(stub_param("ev_read", 0), "100") == 0);
	CHECK(stub_answer("ev_read", stub_read_nothing()) == 0);
	CHECK(ev.state == EVENTS_IDLE);
	CHECK(test_reads_over == 1);
}

static void
test_teardown(void)
{
	stub_hub_free(&test_hub);
}

/* The read under way returns message id, created by A for to. */
static void
test_read_message(const char *next_horizon, const char *to, const char *id)
{
	const char *const row[] = {
		next_horizon, "1", "message_created", A, to, id, "f",
		"1.2.1", NULL, "2.2.0"
	};

	CHECK(stub_answer("ev_read", stub_result(10, 1, row)) == 0);
}

/* The frames of the batch's messages, asked with push_message_frames(). */
static void
test_fetch(const char *to, const char *id, const char *frame)
{
	const char *const row[] = { id, A, to, CREATED, frame };

	CHECK(stub_answer("ev_messages", stub_result(5, 1, row)) == 0);
}

/*
 * A message goes to its receiver and to its sender's other connections,
 * not to the connection that sent it (it had message_sent).
 */
static void
test_no_echo(void)
{
	struct stub_wsi wa1 = { 0 }, wa2 = { 0 }, wb = { 0 };
	struct session *a1, *a2, *b;
	const char *const got[] = { "frame M", NULL };
	const char *const nothing[] = { NULL };

	test_setup();
	a1 = stub_session_welcomed(&test_hub, A, &wa1);
	a2 = stub_session_welcomed(&test_hub, A, &wa2);
	b = stub_session_welcomed(&test_hub, B, &wb);
	session_remember_send(a1, M);	/* frames.c: message_sent */

	events_wake(&test_hub);
	test_read_message("200", B, M);
	CHECK(ev.state == EVENTS_FETCHING);
	CHECK(strcmp(stub_param("ev_messages", 0), "{" M "}") == 0);
	test_fetch(B, M, "frame M");
	CHECK(ev.state == EVENTS_IDLE);
	CHECK(ev.horizon == 200);
	stub_write_all(a1);
	stub_write_all(a2);
	stub_write_all(b);
	CHECK(stub_got(&wa1, nothing));
	CHECK(stub_got(&wa2, got));
	CHECK(stub_got(&wb, got));
	/* Its event read, the send is forgotten. */
	CHECK(!session_sent(a1, M));
	stub_session_close(a1, &wa1);
	stub_session_close(a2, &wa2);
	stub_session_close(b, &wb);
	test_teardown();
}

/* A sender alone here, to a receiver held nowhere: nothing to fetch. */
static void
test_no_echo_alone(void)
{
	struct stub_wsi wa = { 0 };
	struct session *a;
	const char *const nothing[] = { NULL };

	test_setup();
	a = stub_session_welcomed(&test_hub, A, &wa);
	session_remember_send(a, N);
	events_wake(&test_hub);
	test_read_message("200", C, N);
	CHECK(stub_pending("ev_messages") == 0);
	CHECK(ev.state == EVENTS_IDLE);
	CHECK(ev.horizon == 200);
	stub_write_all(a);
	CHECK(stub_got(&wa, nothing));
	CHECK(!session_sent(a, N));
	stub_session_close(a, &wa);
	test_teardown();
}

/*
 * A read brings a message whose sender has a send unanswered here: it may
 * be that connection's own, whose id it does not know yet. The batch is
 * parked (nothing pushed, the horizon kept, the read still under way)
 * until the sends are answered; then it goes out, without the echo.
 */
static void
test_parked(void)
{
	struct stub_wsi wa1 = { 0 }, wa2 = { 0 }, wb = { 0 };
	struct session *a1, *a2, *b;
	const char *const got[] = { "frame M", NULL };
	const char *const nothing[] = { NULL };
	uint64_t fresh;

	test_setup();
	a1 = stub_session_welcomed(&test_hub, A, &wa1);
	a2 = stub_session_welcomed(&test_hub, A, &wa2);
	b = stub_session_welcomed(&test_hub, B, &wb);
	a1->sends_in_flight = 1;	/* frames.c: its batch is out */

	events_wake(&test_hub);
	test_read_message("200", B, M);
	test_fetch(B, M, "frame M");
	CHECK(ev.state == EVENTS_PARKED);
	CHECK(ev.horizon == 100);
	stub_write_all(a2);
	stub_write_all(b);
	CHECK(stub_got(&wa2, nothing));
	CHECK(stub_got(&wb, nothing));
	/* A wake-up meanwhile waits for it: one read at a time. */
	events_wake(&test_hub);
	CHECK(stub_pending("ev_read") == 0);
	fresh = events_fresh_read(&test_hub);
	CHECK(!events_read_done(fresh));
	CHECK(test_reads_over == 1);

	/* The batch of sends answered: message_sent, then the reader. */
	a1->sends_in_flight = 0;
	session_remember_send(a1, M);
	events_sends_answered(&test_hub);
	CHECK(ev.horizon == 200);
	CHECK(test_reads_over == 2);
	stub_write_all(a1);
	stub_write_all(a2);
	stub_write_all(b);
	CHECK(stub_got(&wa1, nothing));
	CHECK(stub_got(&wa2, got));
	CHECK(stub_got(&wb, got));
	/* The wake-up of meanwhile reads now, from the new horizon. */
	CHECK(ev.state == EVENTS_READING);
	CHECK(stub_pending("ev_read") == 1);
	CHECK(strcmp(stub_param("ev_read", 0), "200") == 0);
	CHECK(!events_read_done(fresh));
	stub_session_close(a1, &wa1);
	stub_session_close(a2, &wa2);
	stub_session_close(b, &wb);
	test_teardown();
}

/* The connection lost while a batch is parked: it is read again, from
 * the same horizon. */
static void
test_parked_lost(void)
{
	struct stub_wsi wa = { 0 }, wb = { 0 };
	struct session *a, *b;
	const char *const nothing[] = { NULL };

	test_setup();
	a = stub_session_welcomed(&test_hub, A, &wa);
	b = stub_session_welcomed(&test_hub, B, &wb);
	a->sends_in_flight = 1;
	events_wake(&test_hub);
	test_read_message("200", B, M);
	test_fetch(B, M, "frame M");
	CHECK(ev.state == EVENTS_PARKED);
	events_connected(&test_hub);
	CHECK(ev.parked == NULL);
	CHECK(ev.state == EVENTS_READING);
	CHECK(strcmp(stub_param("ev_read", 0), "100") == 0);
	stub_write_all(b);
	CHECK(stub_got(&wb, nothing));
	stub_session_close(a, &wa);
	stub_session_close(b, &wb);
	test_teardown();
}

/*
 * Delivered marks committed (delivery.c): the other daemons are woken for
 * the senders, and this one reads at once when it holds one of them,
 * rather than wait for a NOTIFY of its own; not when it holds none.
 */
static void
test_marks_committed(void)
{
	struct stub_wsi wa = { 0 };
	struct session *a;

	test_setup();
	a = stub_session_welcomed(&test_hub, A, &wa);
	events_marks_committed(test_hub.pg, "{" B "}");
	CHECK(stub_pending("pg_wake_others") == 1);
	CHECK(strcmp(stub_param("pg_wake_others", 0), "node-1") == 0);
	CHECK(strcmp(stub_param("pg_wake_others", 1), "{" B "}") == 0);
	CHECK(ev.state == EVENTS_IDLE);
	CHECK(stub_answer("pg_wake_others", NULL) == 0);
	events_marks_committed(test_hub.pg, "{" B "," A "}");
	CHECK(stub_pending("pg_wake_others") == 1);
	CHECK(ev.state == EVENTS_READING);
	CHECK(stub_pending("ev_read") == 1);
	stub_session_close(a, &wa);
	test_teardown();
}

int
main(void)
{
	log_init("test_events", LOG_LEVEL_WARN);
	test_no_echo();
	test_no_echo_alone();
	test_parked();
	test_parked_lost();
	test_marks_committed();
	return check_done("test_events");
}
