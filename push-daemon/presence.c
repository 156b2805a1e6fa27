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
    "SELECT push_disconnect($1, $2, $3)");
static struct pg_stmt presence_heartbeat_stmt = PG_STMT("pr_heartbeat", 1,
    "SELECT push_heartbeat_found($1)");
static struct pg_stmt presence_reap_stmt = PG_STMT("pr_reap", 2,
    "SELECT push_reap($1, make_interval(days => $2))");

static void
presence_timeout_text(const struct hub *hub, char buf[16])
{
	snprintf(buf, 16, "%d", hub->cfg->presence_timeout_seconds);
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
	char id[24], timeout[16];
	const char *params[] = { hub->node_id, id, timeout };

	snprintf(id, sizeof(id), "%llu", (unsigned long long)session_id);
	presence_timeout_text(hub, timeout);
	pg_query(hub->pg, &presence_disconnect_stmt, params,
	    events_notify_if_recorded, hub);
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

void
presence_connected(struct hub *hub)
{
	char timeout[16];
	const char *params[] = { hub->node_id, timeout };

	presence_timeout_text(hub, timeout);
	/* In this order on the one connection: the node's old rows go, the
	 * refused accounts load (then main.c has welcome.c register the open
	 * sessions again). */
	pg_query(hub->pg, &presence_start_stmt, params, events_notify_if_recorded, hub);
	pg_query(hub->pg, &presence_refused_stmt, NULL, presence_refused_loaded,
	    hub);
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
