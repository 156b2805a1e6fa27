/*
 * frames_handle(): a client's text frame on its WebSocket (CONTRACT §6)
 * read into a request, checked, and answered. As in the push daemon's
 * unit tests, the database and lws's writes are stubs
 * (tests/unit/push_stubs.c); each query the frame starts is answered as
 * the database answers a success, and every frame the session then
 * writes must be one JSON object in valid UTF-8.
 */
#include "frames.c"

#include "delivery.h"
#include "fuzz.h"
#include "push_stubs.h"
#include "utf8.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"	/* the sender */
#define M	"9b2f3c1e-5a4d-4e6f-8a7b-1c2d3e4f5a6b"
#define G	"3f1c0e9a-7b6d-4c5e-9f8a-2b1c0d9e8f7a"	/* a group */
#define CREATED	"2999-01-01T00:00:00.000000Z"

static struct config fuzz_cfg;
static struct hub fuzz_hub;

static void
fuzz_read_over(struct hub *hub)
{
	(void)hub;
}

/* The event reader connected and idle, as the daemon runs. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *const horizon[] = { "100" };
	const char *const none[] = { "100", NULL, NULL, NULL, NULL, NULL, "f" };

	(void)argc;
	(void)argv;
	fuzz_cfg.push_max_queue_bytes = 1 << 20;
	fuzz_cfg.push_max_per_account = 5;
	if (hub_init(&fuzz_hub, &fuzz_cfg, "node-1") == -1 ||
	    events_init(&fuzz_hub, fuzz_read_over) == -1)
		abort();
	events_connected(&fuzz_hub);
	if (stub_answer("ev_horizon", stub_result(1, 1, horizon)) == -1 ||
	    stub_answer("ev_read", stub_result(7, 1, none)) == -1)
		abort();
	return 0;
}

/* Answers the frame's queries as successes that start no event read. */
static void
fuzz_answer_all(void)
{
	const char *const sent[] = {
		"201", "{\"message_id\": \"" M "\", \"created_at\": \""
		    CREATED "\"}", "0"
	};
	const char *const read[] = { "200", "{}", "0" };
	const char *const typed[] = { "t" };
	const char *const group_sent[] = {
		"201", "{\"message_id\": \"" M "\", \"group_id\": \"" G
		    "\", \"created_at\": \"" CREATED "\"}", "1"
	};

	while (stub_pending("ws_send") > 0)
		stub_answer("ws_send", stub_result(3, 1, sent));
	while (stub_pending("ws_read") > 0)
		stub_answer("ws_read", stub_result(3, 1, read));
	while (stub_pending("ws_typing") > 0)
		stub_answer("ws_typing", stub_result(1, 1, typed));
	while (stub_pending("ws_group_send") > 0)
		stub_answer("ws_group_send", stub_result(3, 1, group_sent));
	while (stub_pending("ws_group_read") > 0)
		stub_answer("ws_group_read", stub_result(3, 1, read));
	while (stub_pending("ws_group_typing") > 0)
		stub_answer("ws_group_typing", stub_result(3, 1, read));
	/* The wake-ups of group events recorded, and of sends stored. */
	while (stub_pending("pg_wake") > 0)
		stub_answer("pg_wake", NULL);
	while (stub_pending("pg_wake_others") > 0)
		stub_answer("pg_wake_others", NULL);
}

/*
 * One frame on a session of the main URL, or of the per-group URL of
 * group G (group true): every frame it writes is one JSON object in
 * valid UTF-8.
 */
static void
fuzz_one(const char *text, size_t size, int group)
{
	struct stub_wsi w = { 0 };
	struct session *s = stub_session_open(&fuzz_hub, A, &w);

	if (group)
		memcpy(s->group_id, G, UUID_TEXT_SIZE);
	session_set_state(s, SESSION_REGISTERING);
	session_set_state(s, SESSION_REGISTERED);
	session_set_state(s, SESSION_WELCOMING);
	session_set_state(s, SESSION_WELCOMED);

	frames_handle(s, text, size);
	fuzz_answer_all();
	FUZZ_CHECK(frames_waiting.head == NULL && !frames_waiting.in_flight);
	FUZZ_CHECK(s->sends_in_flight == 0);
	stub_write_all(s);
	/* Every request gets an answer or its query; a frame that starts
	 * no query is refused with an error frame. */
	for (int i = 0; i < w.n; i++) {
		struct json_object *obj = json_tokener_parse(w.frames[i]);

		FUZZ_CHECK(utf8_valid(w.frames[i], strlen(w.frames[i])));
		FUZZ_CHECK(obj != NULL &&
		    json_object_is_type(obj, json_type_object));
		json_object_put(obj);
	}

	session_set_state(s, SESSION_CLOSED);
	free(s);
	stub_wsi_clear(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);

	fuzz_one(text, size, 0);
	fuzz_one(text, size, 1);
	free(text);
	return 0;
}
