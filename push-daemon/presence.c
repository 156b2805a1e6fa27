#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "hub.h"
#include "log.h"
#include "presence.h"

static struct pg_stmt presence_start_stmt = PG_STMT("pr_start", 2,
    "SELECT push_node_start($1, $2)");
static struct pg_stmt presence_stop_stmt = PG_STMT("pr_stop", 2,
    "SELECT push_node_stop($1, $2)");
static struct pg_stmt presence_refused_stmt = PG_STMT("pr_refused", 0,
    "SELECT * FROM push_disabled_accounts()");
static struct pg_stmt presence_disconnect_stmt = PG_STMT("pr_disconnect", 3,
    "SELECT push_disconnect_many($1, $2, $3)");
static struct pg_stmt presence_heartbeat_stmt = PG_STMT("pr_heartbeat", 1,
    "SELECT push_heartbeat_found($1)");
static struct pg_stmt presence_reap_stmt = PG_STMT("pr_reap", 2,
    "SELECT push_reap($1, make_interval(days => $2))");

static void
presence_timeout_text(const struct hub *hub, char buf[16])
{
	snprintf(buf, 16, "%d", hub->cfg->presence_timeout_seconds);
}

/* The ends written in one query at most; more wait for the next one. */
#define PRESENCE_ENDS_BATCH	1000

/*
 * The connections closed whose presence row may still be there, oldest
 * first: an id leaves the list only when a query that deleted its row
 * committed. A query refused (the database's queue is full, the
 * connection is down), lost with the connection or failed is tried
 * again at the next tick, so no closed connection's row stays behind,
 * whatever the state of the database queue. One query is out at a time,
 * for the first `sending` ids; ids are only ever added at the end.
 */
static struct {
	uint64_t	*ids;
	size_t		 n, cap;
	size_t		 sending;	/* in flight: ids[0..sending) */
} ends;

static void presence_flush_ends(struct hub *hub);

static void
presence_ends_written(void *arg, PGresult *res)
{
	struct hub *hub = arg;
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK;

	if (ok) {
		memmove(ends.ids, ends.ids + ends.sending,
		    (ends.n - ends.sending) * sizeof(*ends.ids));
		ends.n -= ends.sending;
	}
	ends.sending = 0;
	events_notify_if_recorded(hub, res);
	if (ok)
		presence_flush_ends(hub);
}

/* Sends the waiting ends unless a query of them is out. */
static void
presence_flush_ends(struct hub *hub)
{
	char timeout[16], *list;
	const char *params[] = { hub->node_id, NULL, timeout };
	size_t n = ends.n < PRESENCE_ENDS_BATCH ? ends.n : PRESENCE_ENDS_BATCH;
	size_t size = n * 21 + 3, at = 0;

	if (ends.sending > 0 || n == 0 || !pg_connected(hub->pg))
		return;
	/* A PostgreSQL array, {1,2,3}: 20 digits and a separator an id. */
	if ((list = malloc(size)) == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		at += (size_t)snprintf(list + at, size - at, "%c%llu",
		    i == 0 ? '{' : ',', (unsigned long long)ends.ids[i]);
	snprintf(list + at, size - at, "}");
	params[1] = list;
	presence_timeout_text(hub, timeout);
	ends.sending = n;
	if (pg_query(hub->pg, &presence_disconnect_stmt, params,
	    presence_ends_written, hub) == -1)
		ends.sending = 0;
	free(list);
}

void
presence_close(struct hub *hub, struct session *s)
{
	if (s->registered)
		presence_close_id(hub, s->id);
}

void
presence_close_id(struct hub *hub, uint64_t session_id)
{
	if (ends.n == ends.cap) {
		size_t cap = ends.cap == 0 ? 64 : ends.cap * 2;
		uint64_t *grown = reallocarray(ends.ids, cap, sizeof(*grown));

		if (grown == NULL) {
			/* The end cannot be kept: the node's rows are all
			 * written again, from the connections open. */
			if (hub->pg != NULL)
				pg_reset(hub->pg, "out of memory for the end "
				    "of a connection's presence: registering "
				    "the connections again");
			return;
		}
		ends.ids = grown;
		ends.cap = cap;
	}
	ends.ids[ends.n++] = session_id;
	presence_flush_ends(hub);
}

void
presence_free(void)
{
	free(ends.ids);
	memset(&ends, 0, sizeof(ends));
}

static void
presence_refused_loaded(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		return;
	}
	idmap_free(&hub->refused);
	if (idmap_init(&hub->refused) == -1)
		fatalx("out of memory");
	for (int i = 0; i < PQntuples(res); i++)
		idmap_put(&hub->refused, PQgetvalue(res, i, 0), hub);
	hub->refused_loaded = 1;
	PQclear(res);
}

/*
 * The node started: its rows of before the connection are gone, those of
 * connections whose registration or end was lost with it too. Failed:
 * the connection is made again, and the start with it.
 */
static void
presence_started(void *arg, PGresult *res)
{
	struct hub *hub = arg;
	int failed = res != NULL && PQresultStatus(res) != PGRES_TUPLES_OK;

	events_notify_if_recorded(hub, res);
	if (failed)
		pg_reset(hub->pg, "the node could not start: connecting again");
}

void
presence_connected(struct hub *hub)
{
	char timeout[16];
	const char *params[] = { hub->node_id, timeout };

	presence_timeout_text(hub, timeout);
	/* In this order on the one connection: the node's old rows go, the
	 * refused accounts load, the ends not written yet go (then main.c
	 * has welcome.c register the open sessions again). */
	pg_query(hub->pg, &presence_start_stmt, params, presence_started, hub);
	pg_query(hub->pg, &presence_refused_stmt, NULL, presence_refused_loaded,
	    hub);
	presence_flush_ends(hub);
}

/*
 * The heartbeat answered. No node row: another daemon took this one for
 * dead (no heartbeat for the presence timeout: the daemon or its
 * connection stalled) and dropped its connections from presence, though
 * they are open. Its database connection is made again, and the
 * reconnection registers them all again (welcome_all): their
 * friends see them online, and wake-ups for them are sent again.
 */
static void
presence_heartbeat_answered(void *arg, PGresult *res)
{
	struct hub *hub = arg;
	int gone = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQgetisnull(res, 0, 0);

	PQclear(res);
	if (gone && !hub->draining)
		pg_reset(hub->pg, "this daemon was taken for dead (heartbeat "
		    "late): registering its connections again");
}

void
presence_tick(struct hub *hub)
{
	char timeout[16], days[16];
	const char *hb[] = { hub->node_id };
	const char *reap[] = { timeout, days };

	if (!pg_connected(hub->pg))
		return;
	presence_timeout_text(hub, timeout);
	snprintf(days, sizeof(days), "%d", hub->cfg->sync_retention_days);
	pg_query(hub->pg, &presence_heartbeat_stmt, hb,
	    presence_heartbeat_answered, hub);
	pg_query(hub->pg, &presence_reap_stmt, reap, events_notify_if_recorded, hub);
	presence_flush_ends(hub);
}

struct presence_stopping {
	struct hub	*hub;
	void		(*done)(struct hub *);
};

static void
presence_stopped(void *arg, PGresult *res)
{
	struct presence_stopping *st = arg;

	events_notify_if_recorded(st->hub, res);
	st->done(st->hub);
	free(st);
}

void
presence_stop(struct hub *hub, void (*done)(struct hub *))
{
	struct presence_stopping *st = calloc(1, sizeof(*st));
	char timeout[16];
	const char *params[] = { hub->node_id, timeout };

	presence_timeout_text(hub, timeout);
	if (st == NULL) {
		done(hub);
		return;
	}
	st->hub = hub;
	st->done = done;
	if (pg_query(hub->pg, &presence_stop_stmt, params, presence_stopped,
	    st) == -1) {
		free(st);
		done(hub);
	}
}
