/*
 * Unit tests of push-daemon/groups.c and of the group events of events.c
 * (CONTRACT §11): the daemon's copy of the groups, loaded after the first
 * horizon and kept by the events in their order; a group message read
 * once goes to every main connection of the members here and to the
 * group's per-group connections, never back to the connection that sent
 * it; a member removed hears of it and is sent nothing after, its
 * per-group connection closing once status_changed is written.
 */
#include "events.c"

#include "check.h"
#include "delivery.h"
#include "push_stubs.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"	/* sender */
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"	/* member */
#define C	"c2d29867-3d0b-4497-9f5d-8a6e4e0e2f11"	/* stranger */
#define G	"3f1c0e9a-7b6d-4c5e-9f8a-2b1c0d9e8f7a"	/* the group */
#define H	"5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716"	/* another group */
#define M	"9b2f3c1e-5a4d-4e6f-8a7b-1c2d3e4f5a6b"
#define N	"4a5b6c7d-8e9f-4a0b-9c1d-2e3f4a5b6c7d"

static struct config test_cfg;
static struct hub test_hub;

static void
test_read_over(struct hub *hub)
{
	(void)hub;
}

/* The reader at horizon 100, the copy loaded: G of A and B, H of C. */
static void
test_setup(void)
{
	const char *const groups[] = {
		G, "the group", "{" A "," B "}",
		H, "another", "{" C "}",
	};

	stub_hub_init(&test_hub, &test_cfg, test_read_over);
	if (groups_init() == -1)
		abort();
	events_connected(&test_hub);
	CHECK(stub_answer("ev_horizon", stub_horizon_at_100()) == 0);
	/* Asked after the horizon, before the first read. */
	CHECK(!groups_loaded());
	CHECK(stub_answer("gr_load", stub_result(3, 2, groups)) == 0);
	CHECK(groups_loaded());
	CHECK(stub_answer("ev_read", stub_read_nothing()) == 0);
	CHECK(ev.state == EVENTS_IDLE);
}

static void
test_teardown(void)
{
	stub_hub_free(&test_hub);
	groups_free();
}

/* A WELCOMED session of account, of the per-group URL of group unless
 * group is NULL. */
static struct session *
test_session(const char *account, const char *group, struct stub_wsi *w)
{
	struct session *s = stub_session_open(&test_hub, account, w);

	if (group != NULL)
		memcpy(s->group_id, group, UUID_TEXT_SIZE);
	session_set_state(s, SESSION_REGISTERING);
	if (group != NULL)
		groups_attach(s);
	session_set_state(s, SESSION_REGISTERED);
	session_set_state(s, SESSION_WELCOMING);
	session_set_state(s, SESSION_WELCOMED);
	return s;
}

static void
test_free(struct session *s, struct stub_wsi *w)
{
	groups_detach(s);
	session_set_state(s, SESSION_CLOSED);
	free(s);
	stub_wsi_clear(w);
}

/* The read under way returns one group event. */
static void
test_read(const char *id, const char *kind, const char *actor,
    const char *target, const char *message)
{
	const char *const row[] = {
		"200", id, kind, actor, target, message, "f", "1.2.3", NULL,
		"2.2.0"
	};

	CHECK(stub_answer("ev_read", stub_result(10, 1, row)) == 0);
}

static void
test_copy(void)
{
	const groups_id *members;
	size_t n;

	test_setup();
	members = groups_members(G, &n);
	CHECK(n == 2 && strcmp(members[0], A) == 0 &&
	    strcmp(members[1], B) == 0);
	CHECK(groups_admits(G, A, NULL, 0) == 0);
	CHECK(groups_admits(G, C, NULL, 0) == -1);
	CHECK(groups_admits(N, A, NULL, 0) == -1);
	/* A change older than the last applied is passed over. */
	groups_apply(G, 50, "{" A "}", "renamed", 1);
	CHECK(groups_admits(G, B, NULL, 0) == -1);
	groups_apply(G, 40, "{" A "," B "," C "}", "older", 1);
	CHECK(groups_admits(G, C, NULL, 0) == -1);
	/* A group deleted lets nobody in. */
	groups_apply(G, 60, NULL, "renamed", 0);
	CHECK(groups_admits(G, A, NULL, 0) == -1);
	test_teardown();
}

/*
 * A message sent by a1: to A's other main connection, to B's, to the
 * per-group connection of G; not to a1 (message_sent told it), not to C,
 * not to a per-group connection of H.
 */
static void
test_message(void)
{
	struct stub_wsi wa1 = { 0 }, wa2 = { 0 }, wb = { 0 }, wc = { 0 };
	struct stub_wsi wbg = { 0 }, wch = { 0 };
	struct session *a1, *a2, *b, *c, *bg, *ch;
	struct outmsg *direct;
	const char *const head[] = {
		"7", G, NULL, NULL, NULL, "the group", "t", "frame M"
	};
	const char *const got[] = { "frame M", NULL };
	const char *const nothing[] = { NULL };

	test_setup();
	a1 = test_session(A, NULL, &wa1);
	a2 = test_session(A, NULL, &wa2);
	b = test_session(B, NULL, &wb);
	c = test_session(C, NULL, &wc);
	bg = test_session(B, G, &wbg);
	ch = test_session(C, H, &wch);
	session_remember_send(a1, M);

	events_wake(&test_hub);
	test_read("7", "group_message", A, G, M);
	CHECK(ev.state == EVENTS_FETCHING);
	CHECK(strcmp(stub_param("ev_groups", 0), "{7}") == 0);
	CHECK(strcmp(stub_param("ev_groups", 1), "{1.2.3}") == 0);
	CHECK(stub_answer("ev_groups", stub_result(8, 1, head)) == 0);
	CHECK(ev.state == EVENTS_IDLE);
	stub_write_all(a1);
	stub_write_all(a2);
	stub_write_all(b);
	stub_write_all(c);
	stub_write_all(bg);
	stub_write_all(ch);
	CHECK(stub_got(&wa1, nothing));
	CHECK(stub_got(&wa2, got));
	CHECK(stub_got(&wb, got));
	CHECK(stub_got(&wc, nothing));
	CHECK(stub_got(&wbg, got));
	CHECK(stub_got(&wch, nothing));
	CHECK(!session_sent(a1, M));
	/* A frame of the main URL only does not reach a per-group one. */
	direct = outmsg_new("direct", 6);
	hub_send(&test_hub, B, direct, NULL);
	outmsg_unref(direct);
	stub_write_all(bg);
	CHECK(stub_got(&wbg, got));
	test_free(a1, &wa1);
	test_free(a2, &wa2);
	test_free(b, &wb);
	test_free(c, &wc);
	test_free(bg, &wbg);
	test_free(ch, &wch);
	test_teardown();
}

/* No member here: a group message read is not fetched at all. */
static void
test_nobody_here(void)
{
	struct stub_wsi wc = { 0 };
	struct session *c;

	test_setup();
	c = test_session(C, NULL, &wc);
	events_wake(&test_hub);
	test_read("7", "group_message", A, G, M);
	CHECK(stub_pending("ev_groups") == 0);
	CHECK(ev.state == EVENTS_IDLE);
	test_free(c, &wc);
	test_teardown();
}

/*
 * B removed (event 8): everyone of the group and B hear it; B's per-group
 * connection gets status_changed, then closes with 4003; a message after
 * (event 9) reaches A only.
 */
static void
test_removed(void)
{
	struct stub_wsi wa = { 0 }, wb = { 0 }, wbg = { 0 };
	struct session *a, *b, *bg;
	const char *const removed[] = {
		"8", G, NULL, "removed", "{" A "}", "the group", "t",
		"frame R"
	};
	const char *const message[] = {
		"9", G, NULL, NULL, NULL, "the group", "t", "frame N"
	};
	const char *const a_got[] = { "frame R", "frame N", NULL };
	const char *const b_got[] = { "frame R", NULL };
	const char *const bg_got[] = {
		"{\"type\":\"status_changed\",\"group_id\":\"" G "\","
		"\"my_status\":\"removed\",\"is_active\":true}", NULL
	};

	test_setup();
	a = test_session(A, NULL, &wa);
	b = test_session(B, NULL, &wb);
	bg = test_session(B, G, &wbg);

	events_wake(&test_hub);
	test_read("8", "group_member_removed", A, B, NULL);
	CHECK(stub_answer("ev_groups", stub_result(8, 1, removed)) == 0);
	CHECK(groups_admits(G, B, NULL, 0) == -1);
	events_wake(&test_hub);
	test_read("9", "group_message", A, G, N);
	CHECK(stub_answer("ev_groups", stub_result(8, 1, message)) == 0);
	stub_write_all(a);
	stub_write_all(b);
	CHECK(stub_got(&wa, a_got));
	CHECK(stub_got(&wb, b_got));
	CHECK(bg->close_after == GROUPS_CLOSE_GONE);
	stub_write_all(bg);
	CHECK(stub_got(&wbg, bg_got));
	CHECK(bg->state == SESSION_CLOSING && bg->close_code == 4003);
	test_free(a, &wa);
	test_free(b, &wb);
	test_free(bg, &wbg);
	test_teardown();
}

/* Typing: to the members' main connections and the group's per-group
 * ones, in their two shapes, never to the one typing. */
static void
test_typing(void)
{
	struct stub_wsi wa = { 0 }, wb = { 0 }, wbg = { 0 };
	struct session *a, *b, *bg;
	const char *const nothing[] = { NULL };
	const char *const b_got[] = {
		"{\"type\":\"group_typing_indicator\",\"group_id\":\"" G "\","
		"\"user_id\":\"" A "\",\"is_typing\":true}", NULL
	};
	const char *const bg_got[] = {
		"{\"type\":\"typing_indicator\",\"group_id\":\"" G "\","
		"\"user_id\":\"" A "\",\"is_typing\":true}", NULL
	};

	test_setup();
	a = test_session(A, NULL, &wa);
	b = test_session(B, NULL, &wb);
	bg = test_session(B, G, &wbg);
	groups_typing(&test_hub, G " " A " t");
	groups_typing(&test_hub, G " " A);		/* not a payload */
	stub_write_all(a);
	stub_write_all(b);
	stub_write_all(bg);
	CHECK(stub_got(&wa, nothing));
	CHECK(stub_got(&wb, b_got));
	CHECK(stub_got(&wbg, bg_got));
	test_free(a, &wa);
	test_free(b, &wb);
	test_free(bg, &wbg);
	test_teardown();
}

int
main(void)
{
	test_copy();
	test_message();
	test_nobody_here();
	test_removed();
	test_typing();
	return check_done("test_groups");
}
