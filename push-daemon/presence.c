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
static struct pg_stmt presence_connect_stmt = PG_STMT("pr_connect", 4,
    "SELECT * FROM push_connect($1, $2, $3, $4)");
static struct pg_stmt presence_disconnect_stmt = PG_STMT("pr_disconnect", 3,
    "SELECT push_disconnect($1, $2, $3)");
static struct pg_stmt presence_undelivered_stmt = PG_STMT("pr_undelivered",
    3, "SELECT * FROM push_undelivered($1, $2, $3)");
static struct pg_stmt presence_heartbeat_stmt = PG_STMT("pr_heartbeat", 1,
    "SELECT push_heartbeat($1)");
static struct pg_stmt presence_reap_stmt = PG_STMT("pr_reap", 2,
    "SELECT push_reap($1, make_interval(mins => $2))");

/* A query's answer for one session. */
struct presence_req {
	struct hub		*hub;
	struct session_ref	 ref;
};

static struct presence_req *
presence_req(struct hub *hub, const struct session *s)
{
	struct presence_req *req = calloc(1, sizeof(*req));

	if (req != NULL) {
		req->hub = hub;
		session_ref(s, &req->ref);
	}
	return req;
}

static void
presence_timeout_text(const struct hub *hub, char buf[16])
{
	snprintf(buf, 16, "%d", hub->cfg->presence_timeout_seconds);
}

/* One new_message of the initial frames, from the query or held. */
struct presence_initial {
	const char	*created_at;
	const char	*message_id;
	struct outmsg	*msg;
};

static int
presence_initial_cmp(const void *a, const void *b)
{
	const struct presence_initial *x = a, *y = b;
	int c = strcmp(x->created_at, y->created_at);

	return c != 0 ? c : strcmp(x->message_id, y->message_id);
}

/*
 * The undelivered messages came: they go out merged with the messages that
 * events pushed meanwhile (held), in created_at order, each once, and are
 * marked delivered as they are written. Their ids are kept until the event
 * reader is past this query's snapshot, so that their own events do not
 * send them again.
 */
static void
presence_undelivered(void *arg, PGresult *res)
{
	struct presence_req *req = arg;
	struct session *s = hub_find(req->hub, &req->ref);
	struct presence_initial *all = NULL;
	char (*ids)[UUID_TEXT_SIZE] = NULL;
	size_t n = 0, nheld, nids = 0, rows;
	struct outmsg **held = NULL;

	if (s == NULL)
		goto done;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* No initial messages this time: they stay undelivered, for
		 * the next connection; events flow meanwhile. */
		session_ready(s);
		goto done;
	}
	rows = (size_t)PQntuples(res);
	held = calloc((size_t)req->hub->cfg->push_undelivered_max + 1,
	    sizeof(*held));
	all = calloc(rows + (size_t)req->hub->cfg->push_undelivered_max + 1,
	    sizeof(*all));
	ids = calloc(rows + 1, UUID_TEXT_SIZE);
	if (held == NULL || all == NULL || ids == NULL)
		goto done;
	for (size_t i = 0; i < rows; i++) {
		struct outmsg *msg = outmsg_new(PQgetvalue(res, (int)i, 2),
		    (size_t)PQgetlength(res, (int)i, 2));

		if (msg == NULL)
			continue;
		memcpy(msg->message_id, PQgetvalue(res, (int)i, 0),
		    UUID_TEXT_SIZE);
		memcpy(msg->receiver_id, s->account_id, UUID_TEXT_SIZE);
		all[n].created_at = PQgetvalue(res, (int)i, 1);
		all[n].message_id = PQgetvalue(res, (int)i, 0);
		all[n++].msg = msg;
		memcpy(ids[nids++], PQgetvalue(res, (int)i, 0), UUID_TEXT_SIZE);
	}
	nheld = session_take_held_messages(s, held,
	    (size_t)req->hub->cfg->push_undelivered_max);
	for (size_t i = 0; i < nheld; i++) {
		all[n].created_at = held[i]->created_at;
		all[n].message_id = held[i]->message_id;
		all[n++].msg = held[i];
	}
	qsort(all, n, sizeof(*all), presence_initial_cmp);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(all[i].message_id, all[i - 1].message_id))
			session_push_initial(s, all[i].msg);
	if (rows > 0)
		session_set_initial(s, ids, nids,
		    strtoull(PQgetvalue(res, 0, 3), NULL, 10));
	session_ready(s);
done:
	for (size_t i = 0; i < n; i++)
		outmsg_unref(all[i].msg);
	free(all);
	free(held);
	free(ids);
	PQclear(res);
	free(req);
}

static void
presence_registered(void *arg, PGresult *res)
{
	struct presence_req *req = arg;
	struct session *s = hub_find(req->hub, &req->ref);
	char max[16], horizon[24];
	const char *params[] = { req->ref.account_id, max,
	    events_horizon() > 0 ? horizon : NULL };

	if (s == NULL || res == NULL)
		goto fail;
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		/* The account is gone (its presence row has no account). */
		session_close(s, LWS_CLOSE_STATUS_POLICY_VIOLATION);
		goto fail;
	}
	s->registered = 1;
	if (strcmp(PQgetvalue(res, 0, 1), "0") != 0)
		events_notify(req->hub);
	if (s->state != SESSION_PENDING)
		goto fail;	/* registered again after a reconnection */
	session_send_text(s, PQgetvalue(res, 0, 0));
	snprintf(max, sizeof(max), "%d", req->hub->cfg->push_undelivered_max);
	snprintf(horizon, sizeof(horizon), "%llu",
	    (unsigned long long)events_horizon());
	PQclear(res);
	if (pg_query(req->hub->pg, &presence_undelivered_stmt, params,
	    presence_undelivered, req) == -1)
		free(req);
	return;
fail:
	PQclear(res);
	free(req);
}

static void
presence_register(struct session *s, void *arg)
{
	struct hub *hub = arg;
	struct presence_req *req;
	char id[24], timeout[16];
	const char *params[] = { hub->node_id, id, s->account_id, timeout };

	if (s->state == SESSION_CLOSING || (req = presence_req(hub, s)) == NULL)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)s->id);
	presence_timeout_text(hub, timeout);
	if (pg_query(hub->pg, &presence_connect_stmt, params,
	    presence_registered, req) == -1)
		free(req);
}

void
presence_open(struct hub *hub, struct session *s)
{
	/* Without the database, the session waits for presence_connected. */
	if (pg_connected(hub->pg))
		presence_register(s, hub);
}

void
presence_close(struct hub *hub, struct session *s)
{
	char id[24], timeout[16];
	const char *params[] = { hub->node_id, id, timeout };

	if (!s->registered)
		return;
	snprintf(id, sizeof(id), "%llu", (unsigned long long)s->id);
	presence_timeout_text(hub, timeout);
	pg_query(hub->pg, &presence_disconnect_stmt, params, events_notify_if_recorded,
	    hub);
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
	 * refused accounts load, the open sessions register again. */
	pg_query(hub->pg, &presence_start_stmt, params, events_notify_if_recorded, hub);
	pg_query(hub->pg, &presence_refused_stmt, NULL, presence_refused_loaded,
	    hub);
	hub_each(hub, presence_register, hub);
}

static void
presence_ignore(void *arg, PGresult *res)
{
	(void)arg;
	PQclear(res);
}

void
presence_tick(struct hub *hub)
{
	char timeout[16], minutes[16];
	const char *hb[] = { hub->node_id };
	const char *reap[] = { timeout, minutes };

	if (!pg_connected(hub->pg))
		return;
	presence_timeout_text(hub, timeout);
	snprintf(minutes, sizeof(minutes), "%d",
	    hub->cfg->push_event_retention_minutes);
	pg_query(hub->pg, &presence_heartbeat_stmt, hb, presence_ignore, NULL);
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
