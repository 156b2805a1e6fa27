#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "hub.h"
#include "idlist.h"
#include "log.h"
#include "replay.h"

static struct pg_stmt replay_stmt = PG_STMT("rp_events", 5,
    "SELECT * FROM push_replay_many($1, $2, $3, $4, $5)");

/* Columns of push_replay_many(). */
enum { RP_CONN, RP_REFUSAL, RP_CURSOR, RP_FRAME, RP_MESSAGE, RP_RECEIVER };

/* One query: its sessions and the horizon they replay up to. */
struct replay_batch {
	struct hub		*hub;
	struct session_ref	*refs;
	size_t			 n;
	uint64_t		 upto;
};

static void replay_fetch(struct replay_batch *b);

static void
replay_batch_free(struct replay_batch *b)
{
	if (b == NULL)
		return;
	free(b->refs);
	free(b);
}

static struct replay_batch *
replay_batch_new(struct hub *hub, size_t cap, uint64_t upto)
{
	struct replay_batch *b = calloc(1, sizeof(*b));

	if (b == NULL || (b->refs = calloc(cap, sizeof(*b->refs))) == NULL) {
		free(b);
		return NULL;
	}
	b->hub = hub;
	b->upto = upto;
	return b;
}

/* The frame of row i to s, a new message marked delivered once written. */
static void
replay_push_row(struct session *s, const PGresult *res, int i)
{
	struct outmsg *msg;

	if (PQgetisnull(res, i, RP_FRAME))
		return;		/* a message gone with its account */
	msg = outmsg_new(PQgetvalue(res, i, RP_FRAME),
	    (size_t)PQgetlength(res, i, RP_FRAME));
	if (msg == NULL)
		return;
	msg->stream = 1;
	if (!PQgetisnull(res, i, RP_MESSAGE)) {
		memcpy(msg->message_id, PQgetvalue(res, i, RP_MESSAGE),
		    UUID_TEXT_SIZE);
		memcpy(msg->receiver_id, PQgetvalue(res, i, RP_RECEIVER),
		    UUID_TEXT_SIZE);
	}
	session_push_initial(s, msg);
	outmsg_unref(msg);
}

/*
 * Queues the rows of s, [first, first + n): its place moves on with each
 * (s->since). Returns whether a page of its replay follows.
 */
static int
replay_queue(struct session *s, const PGresult *res, int first, int n)
{
	int max = s->hub->cfg->push_undelivered_max;

	for (int i = first; i < first + n; i++) {
		replay_push_row(s, res, i);
		snprintf(s->since, sizeof(s->since), "%s",
		    PQgetvalue(res, i, RP_CURSOR));
	}
	/* A refusal is one row; a full page may have more after it. */
	return n == max && PQgetisnull(res, first, RP_REFUSAL);
}

static void
replay_answered(void *arg, PGresult *res)
{
	struct replay_batch *b = arg, *more = NULL;
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;
	int rows = ok ? PQntuples(res) : 0;

	if (!ok && res != NULL)
		log_warnx("replay: %s", PQresultErrorMessage(res));
	for (size_t k = 0; k < b->n; k++) {
		struct session *s = hub_find(b->hub, &b->refs[k]);
		int first = -1, n = 0;

		if (s == NULL || s->state != SESSION_WELCOMING)
			continue;
		if (res == NULL) {
			/* Lost: replayed anew once the connection is back. */
			session_set_state(s, SESSION_REGISTERED);
			continue;
		}
		if (!ok) {
			session_close(s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
			continue;
		}
		for (int i = 0; i < rows; i++) {
			if (strtoull(PQgetvalue(res, i, RP_CONN), NULL, 10) !=
			    s->id)
				continue;
			if (first == -1)
				first = i;
			n++;
		}
		if (n > 0 && replay_queue(s, res, first, n)) {
			if (more == NULL &&
			    (more = replay_batch_new(b->hub, b->n, b->upto)) ==
			    NULL) {
				session_close(s,
				    LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
				continue;
			}
			more->refs[more->n++] = b->refs[k];
			continue;
		}
		session_set_state(s, SESSION_WELCOMED);
	}
	PQclear(res);
	replay_batch_free(b);
	if (more != NULL)
		replay_fetch(more);
}

/* Asks for the next page of b's sessions (frees b). */
static void
replay_fetch(struct replay_batch *b)
{
	struct hub *hub = b->hub;
	struct idlist conns = IDLIST_EMPTY, accounts = IDLIST_EMPTY;
	struct idlist sinces = IDLIST_EMPTY;
	char conn[24], upto[24], max[16];
	const char *params[5];
	int failed = 0;

	for (size_t k = 0; k < b->n && !failed; k++) {
		struct session *s = hub_find(hub, &b->refs[k]);

		if (s == NULL)
			continue;
		snprintf(conn, sizeof(conn), "%llu", (unsigned long long)s->id);
		/* A since is digits and dots: no quoting (ws.c). */
		failed = idlist_add(&conns, conn) == -1 ||
		    idlist_add(&accounts, s->account_id) == -1 ||
		    idlist_add(&sinces, s->since) == -1;
	}
	if (idlist_text(&conns) == NULL && !failed) {
		replay_batch_free(b);	/* all gone meanwhile */
		goto done;
	}
	snprintf(upto, sizeof(upto), "%llu", (unsigned long long)b->upto);
	snprintf(max, sizeof(max), "%d", hub->cfg->push_undelivered_max);
	params[0] = idlist_text(&conns);
	params[1] = idlist_text(&accounts);
	params[2] = idlist_text(&sinces);
	params[3] = upto;
	params[4] = max;
	if (failed || pg_query(hub->pg, &replay_stmt, params, replay_answered,
	    b) == -1)
		replay_answered(b, NULL);
done:
	idlist_free(&conns);
	idlist_free(&accounts);
	idlist_free(&sinces);
}

void
replay_sessions(struct hub *hub, const struct session_ref *refs, size_t n)
{
	struct replay_batch *b = replay_batch_new(hub, n, events_horizon());

	if (b == NULL) {
		for (size_t k = 0; k < n; k++) {
			struct session *s = hub_find(hub, &refs[k]);

			if (s != NULL)
				session_close(s,
				    LWS_CLOSE_STATUS_UNEXPECTED_CONDITION);
		}
		return;
	}
	memcpy(b->refs, refs, n * sizeof(*refs));
	b->n = n;
	replay_fetch(b);
}
