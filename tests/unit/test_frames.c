/*
 * frames.c once a batch of sends is stored: the other daemons are woken
 * for both sides of each message (pg_wake_others), and this daemon reads
 * the stream at once itself when a session here other than the one that
 * sent wants the message, else within 200 ms (its lazy read), rather than
 * wait for a NOTIFY of its own (docs/events.md, "Channel and payload").
 * The database and lws's writes are stubs (push_stubs.c).
 */
#include "frames.c"

#include "check.h"
#include "delivery.h"
#include "push_stubs.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"	/* the sender */
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"	/* the receiver */
#define M	"9b2f3c1e-5a4d-4e6f-8a7b-1c2d3e4f5a6b"
#define CREATED	"2999-01-01T00:00:00.000000Z"

static struct config test_cfg;
static struct hub test_hub;

static void
test_read_over(struct hub *hub)
{
	(void)hub;
}

/* The event reader connected and idle, as the daemon runs. */
static void
test_setup(void)
{
	stub_hub_init(&test_hub, &test_cfg, test_read_over);
	test_cfg.push_max_waiting_requests = 32;
	test_cfg.limits_send_per_second = 20;
	test_cfg.limits_send_burst = 60;
	events_connected(&test_hub);
	CHECK(stub_answer("ev_horizon", stub_horizon_at_100()) == 0);
	CHECK(stub_answer("ev_read", stub_read_nothing()) == 0);
	CHECK(stub_pending("ev_read") == 0);
}

static void
test_teardown(void)
{
	stub_hub_free(&test_hub);
}

/* s sends a message to B, and its batch is stored (an event recorded). */
static void
test_send(struct session *s)
{
	static const char frame[] = "{\"type\": \"send_message\", "
	    "\"receiver_id\": \"" B "\", \"content\": \"hi\"}";
	const char *const sent[] = {
		"201", "{\"message_id\": \"" M "\", \"created_at\": \""
		    CREATED "\"}", "1"
	};

	frames_handle(s, frame, sizeof(frame) - 1);
	CHECK(stub_answer("ws_send", stub_result(3, 1, sent)) == 0);
	CHECK(stub_pending("pg_wake_others") == 1);
	CHECK(strcmp(stub_param("pg_wake_others", 0), "node-1") == 0);
	CHECK(strcmp(stub_param("pg_wake_others", 1), "{" A "," B "}") == 0);
}

/* The receiver is here: this daemon reads at once. */
static void
test_receiver_here(void)
{
	struct stub_wsi wa = { 0 }, wb = { 0 };
	struct session *a, *b;

	test_setup();
	a = stub_session_welcomed(&test_hub, A, &wa);
	b = stub_session_welcomed(&test_hub, B, &wb);
	test_send(a);
	CHECK(stub_pending("ev_read") == 1);
	stub_session_close(a, &wa);
	stub_session_close(b, &wb);
	test_teardown();
}

/* Another device of the sender is here: likewise. */
static void
test_sender_device_here(void)
{
	struct stub_wsi wa1 = { 0 }, wa2 = { 0 };
	struct session *a1, *a2;

	test_setup();
	a1 = stub_session_welcomed(&test_hub, A, &wa1);
	a2 = stub_session_welcomed(&test_hub, A, &wa2);
	test_send(a1);
	CHECK(stub_pending("ev_read") == 1);
	stub_session_close(a1, &wa1);
	stub_session_close(a2, &wa2);
	test_teardown();
}

/* Nobody here but the sender's one connection: no read at once. */
static void
test_nobody_here(void)
{
	struct stub_wsi wa = { 0 };
	struct session *a;

	test_setup();
	a = stub_session_welcomed(&test_hub, A, &wa);
	test_send(a);
	CHECK(stub_pending("ev_read") == 0);
	stub_session_close(a, &wa);
	test_teardown();
}

int
main(void)
{
	log_init("test_frames", LOG_LEVEL_WARN);
	test_receiver_here();
	test_sender_device_here();
	test_nobody_here();
	return check_done("test_frames");
}
