#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "groups.h"
#include "hub.h"
#include "idlist.h"
#include "idmap.h"
#include "log.h"
#include "pg.h"
#include "timer.h"

/* A load that failed with an SQL error is tried again after 1 s, then
 * after twice as long each time, up to 30 s. */
#define GROUPS_RETRY_FIRST_US	LWS_US_PER_SEC
#define GROUPS_RETRY_MAX_US	(30 * LWS_US_PER_SEC)

static struct pg_stmt groups_load_stmt = PG_STMT("gr_load", 0,
    "SELECT * FROM push_groups()");
static struct pg_stmt groups_online_stmt = PG_STMT("gr_online", 2,
    "SELECT * FROM push_group_online($1, $2)");

/* A group as this daemon knows it. */
struct group {
	char		 id[UUID_TEXT_SIZE];
	char		*name;
	int		 active;
	/* The event id of the last change applied (0: as loaded). */
	uint64_t	 version;
	groups_id	*members;	/* sorted */
	size_t		 nmembers;
	/* Its per-group connections here, by next_in_group. */
	struct session	*sockets;
};

static struct {
	struct idmap	 groups;	/* group id -> struct group */
	/* The groups with per-group connections here: their online_members
	 * are asked each second. */
	struct idmap	 watched;
	int		 ready;
	int		 loaded;
	int		 loading;
	struct hub	*hub;		/* of the load, for its retry */
	lws_sorted_usec_list_t	 retry;
	lws_usec_t	 retry_us;	/* the wait before the next one */
	int		 online_asked;	/* a query of online_members is out */
	int		 online_again;	/* asked meanwhile: one more follows */
} gr;

static int
groups_id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
groups_init(void)
{
	memset(&gr, 0, sizeof(gr));
	if (idmap_init(&gr.groups) == -1 || idmap_init(&gr.watched) == -1)
		return -1;
	gr.ready = 1;
	return 0;
}

static int
groups_drop(void *value, void *arg)
{
	struct group *g = value;

	(void)arg;
	free(g->name);
	free(g->members);
	free(g);
	return 1;
}

void
groups_stop(void)
{
	timer_cancel(&gr.retry);
}

void
groups_free(void)
{
	if (!gr.ready)
		return;
	idmap_sweep(&gr.groups, groups_drop, NULL);
	idmap_free(&gr.groups);
	idmap_free(&gr.watched);
	gr.ready = 0;
}

static struct group *
groups_find(const char *group_id)
{
	return gr.ready ? idmap_get(&gr.groups, group_id) : NULL;
}

/* The group of group_id, made (inactive, no member) when unknown. */
static struct group *
groups_make(const char *group_id)
{
	struct group *g = groups_find(group_id);

	if (g != NULL || !gr.ready)
		return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	memcpy(g->id, group_id, UUID_TEXT_SIZE - 1);
	if (idmap_put(&gr.groups, g->id, g) == -1) {
		free(g);
		return NULL;
	}
	return g;
}

/*
 * The members of a uuid[] literal, "{a,b}", into g, sorted. Returns 0,
 * or -1 (g unchanged) when it is not one or memory is short.
 */
static int
groups_set_members(struct group *g, const char *literal)
{
	size_t len = strlen(literal), n = 0;
	groups_id *ids;
	const char *p;

	if (len < 2 || literal[0] != '{' || literal[len - 1] != '}')
		return -1;
	/* Each id takes 36 characters and a separator. */
	if ((ids = calloc(len / UUID_TEXT_SIZE + 1, sizeof(*ids))) == NULL)
		return -1;
	for (p = literal + 1; *p != '}'; ) {
		if (strlen(p) < UUID_TEXT_SIZE || (p[UUID_TEXT_SIZE - 1] != ',' &&
		    p[UUID_TEXT_SIZE - 1] != '}')) {
			free(ids);
			return -1;
		}
		memcpy(ids[n], p, UUID_TEXT_SIZE - 1);
		ids[n++][UUID_TEXT_SIZE - 1] = '\0';
		p += UUID_TEXT_SIZE - 1;
		if (*p == ',')
			p++;
	}
	qsort(ids, n, sizeof(*ids), groups_id_cmp);
	free(g->members);
	g->members = ids;
	g->nmembers = n;
	return 0;
}

static void
groups_set_name(struct group *g, const char *name)
{
	char *copy = strdup(name);

	if (copy == NULL)
		return;
	free(g->name);
	g->name = copy;
}

static int
groups_is_member(const struct group *g, const char *account_id)
{
	return g->nmembers > 0 && bsearch(account_id, g->members, g->nmembers,
	    sizeof(*g->members), groups_id_cmp) != NULL;
}

static void
groups_retry_due(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	groups_load(gr.hub);
}

static void
groups_load_later(struct hub *hub)
{
	if (gr.retry_us == 0)
		gr.retry_us = GROUPS_RETRY_FIRST_US;
	else if ((gr.retry_us *= 2) > GROUPS_RETRY_MAX_US)
		gr.retry_us = GROUPS_RETRY_MAX_US;
	timer_schedule(hub->ctx, &gr.retry, groups_retry_due, gr.retry_us);
}

static void
groups_loaded_cb(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	gr.loading = 0;
	if (res == NULL) {
		/* Connection lost: loaded when the reader's is back. */
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		/* An SQL error (pg.c logged it): the connection stays, and
		 * nothing else would ask again; per-group handshakes wait
		 * meanwhile. */
		PQclear(res);
		groups_load_later(hub);
		return;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct group *g = groups_make(PQgetvalue(res, i, 0));

		if (g == NULL || groups_set_members(g, PQgetvalue(res, i, 2)))
			continue;
		groups_set_name(g, PQgetvalue(res, i, 1));
		g->active = 1;
	}
	gr.loaded = 1;
	gr.retry_us = 0;
	log_info("groups: %d loaded", PQntuples(res));
	PQclear(res);
}

void
groups_load(struct hub *hub)
{
	if (gr.loaded || gr.loading || !gr.ready)
		return;
	gr.hub = hub;
	gr.loading = 1;
	if (pg_query(hub->pg_events, &groups_load_stmt, NULL, groups_loaded_cb,
	    hub) == -1) {
		gr.loading = 0;
		/* Connected: its queue is full, or memory short. */
		if (pg_connected(hub->pg_events))
			groups_load_later(hub);
	}
}

int
groups_loaded(void)
{
	return gr.loaded;
}

int
groups_admits(const char *group_id, const char *account_id, char *name,
    size_t size)
{
	const struct group *g = groups_find(group_id);

	if (g == NULL || !g->active || !groups_is_member(g, account_id))
		return -1;
	if (name != NULL)
		snprintf(name, size, "%s", g->name != NULL ? g->name : "");
	return 0;
}

const groups_id *
groups_members(const char *group_id, size_t *n)
{
	const struct group *g = groups_find(group_id);

	*n = g != NULL ? g->nmembers : 0;
	return g != NULL ? g->members : NULL;
}

int
groups_has_member(const char *group_id, const char *account_id)
{
	const struct group *g = groups_find(group_id);

	return g != NULL && groups_is_member(g, account_id);
}

int
groups_has_local_member(struct hub *hub, const char *group_id)
{
	const struct group *g = groups_find(group_id);

	for (size_t i = 0; g != NULL && i < g->nmembers; i++)
		if (hub_account_online(hub, g->members[i]))
			return 1;
	return 0;
}

void
groups_apply(const char *group_id, uint64_t version, const char *members,
    const char *name, int active)
{
	struct group *g = groups_make(group_id);

	if (g == NULL || version < g->version)
		return;
	g->version = version;
	if (members != NULL)
		groups_set_members(g, members);
	if (name != NULL)
		groups_set_name(g, name);
	g->active = active;
}

void
groups_attach(struct session *s)
{
	struct group *g = groups_make(s->group_id);

	if (g == NULL)
		return;
	s->next_in_group = g->sockets;
	g->sockets = s;
	idmap_put(&gr.watched, g->id, g);
}

void
groups_detach(struct session *s)
{
	struct group *g;
	struct session **pp;

	if (s->group_id[0] == '\0' || (g = groups_find(s->group_id)) == NULL)
		return;
	for (pp = &g->sockets; *pp != NULL; pp = &(*pp)->next_in_group)
		if (*pp == s) {
			*pp = s->next_in_group;
			break;
		}
	s->next_in_group = NULL;
	if (g->sockets == NULL)
		idmap_remove(&gr.watched, g->id);
}

struct session *
groups_sockets(const char *group_id)
{
	const struct group *g = groups_find(group_id);

	return g != NULL ? g->sockets : NULL;
}

/* The text of a small frame built with json-c (its owner frees it). */
static char *
groups_text(struct json_object *obj)
{
	char *text = obj != NULL ? strdup(json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) : NULL;

	json_object_put(obj);
	return text;
}

void
groups_status_changed(const char *group_id, const char *account_id,
    const char *status, int active)
{
	struct session *s, *next;
	struct json_object *obj;
	char *text;

	for (s = groups_sockets(group_id); s != NULL; s = next) {
		next = s->next_in_group;
		if (account_id != NULL && strcmp(s->account_id, account_id) != 0)
			continue;
		if ((obj = json_object_new_object()) == NULL)
			continue;
		json_object_object_add(obj, "type",
		    json_object_new_string("status_changed"));
		json_object_object_add(obj, "group_id",
		    json_object_new_string(group_id));
		json_object_object_add(obj, "my_status",
		    json_object_new_string(status));
		json_object_object_add(obj, "is_active",
		    json_object_new_boolean(active));
		if ((text = groups_text(obj)) != NULL)
			session_send_text(s, text);
		free(text);
		session_close_after(s, account_id != NULL &&
		    strcmp(status, "banned") == 0 ? GROUPS_CLOSE_BANNED :
		    GROUPS_CLOSE_GONE);
	}
}

/* online_members of a group, to its registered per-group connections
 * whose last one differs. */
static void
groups_send_online(const char *group_id, const char *frame)
{
	struct outmsg *msg = NULL;

	for (struct session *s = groups_sockets(group_id); s != NULL;
	    s = s->next_in_group) {
		if (!s->registered || (s->online_frame != NULL &&
		    strcmp(s->online_frame, frame) == 0))
			continue;
		if (msg == NULL && (msg = outmsg_new(frame, strlen(frame))) == NULL)
			return;
		memcpy(msg->group_id, group_id, UUID_TEXT_SIZE);
		free(s->online_frame);
		s->online_frame = strdup(frame);
		session_push(s, msg);
	}
	outmsg_unref(msg);
}

static void groups_ask_online(struct hub *hub);

static void
groups_online_answered(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	gr.online_asked = 0;
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK)
		for (int i = 0; i < PQntuples(res); i++)
			groups_send_online(PQgetvalue(res, i, 0),
			    PQgetvalue(res, i, 1));
	PQclear(res);
	if (gr.online_again) {
		gr.online_again = 0;
		groups_ask_online(hub);
	}
}

/* Asks the online_members of every watched group (one query at a time). */
static void
groups_ask_online(struct hub *hub)
{
	struct idlist ids = IDLIST_EMPTY;
	char timeout[16];
	const char *params[] = { NULL, timeout };

	if (gr.online_asked) {
		gr.online_again = 1;
		return;
	}
	for (size_t i = 0; i < gr.watched.nbuckets; i++)
		for (struct idmap_entry *e = gr.watched.buckets[i]; e != NULL;
		    e = e->next)
			if (idlist_add(&ids, e->id) == -1)
				goto done;
	if ((params[0] = idlist_text(&ids)) == NULL ||
	    !pg_connected(hub->pg))
		goto done;
	snprintf(timeout, sizeof(timeout), "%d",
	    hub->cfg->presence_timeout_seconds);
	if (pg_query(hub->pg, &groups_online_stmt, params,
	    groups_online_answered, hub) == 0)
		gr.online_asked = 1;
done:
	idlist_free(&ids);
}

void
groups_registered(struct hub *hub, struct session *s)
{
	(void)s;
	groups_ask_online(hub);
}

void
groups_tick(struct hub *hub)
{
	if (gr.ready && gr.watched.count > 0)
		groups_ask_online(hub);
}

/* A typing frame of type to the sessions of account_id: those of the
 * main URL (group "") or of the group's URL. */
static struct outmsg *
groups_typing_frame(const char *type, const char *group_id,
    const char *sender, int typing, int per_group)
{
	struct json_object *obj = json_object_new_object();
	struct outmsg *msg;
	char *text;

	if (obj == NULL)
		return NULL;
	json_object_object_add(obj, "type", json_object_new_string(type));
	json_object_object_add(obj, "group_id",
	    json_object_new_string(group_id));
	json_object_object_add(obj, "user_id", json_object_new_string(sender));
	json_object_object_add(obj, "is_typing",
	    json_object_new_boolean(typing));
	if ((text = groups_text(obj)) == NULL)
		return NULL;
	msg = outmsg_new(text, strlen(text));
	free(text);
	if (msg != NULL && per_group)
		memcpy(msg->group_id, group_id, UUID_TEXT_SIZE);
	return msg;
}

void
groups_typing(struct hub *hub, const char *payload)
{
	char gid[UUID_TEXT_SIZE], sender[UUID_TEXT_SIZE];
	const struct group *g;
	struct outmsg *main_msg, *group_msg;
	int typing;

	/* "group-id sender-id t|f" */
	if (strlen(payload) != 2 * UUID_TEXT_SIZE + 1 ||
	    payload[UUID_TEXT_SIZE - 1] != ' ' ||
	    payload[2 * UUID_TEXT_SIZE - 1] != ' ')
		return;
	memcpy(gid, payload, UUID_TEXT_SIZE - 1);
	gid[UUID_TEXT_SIZE - 1] = '\0';
	memcpy(sender, payload + UUID_TEXT_SIZE, UUID_TEXT_SIZE - 1);
	sender[UUID_TEXT_SIZE - 1] = '\0';
	typing = payload[2 * UUID_TEXT_SIZE] == 't';
	if ((g = groups_find(gid)) == NULL)
		return;
	main_msg = groups_typing_frame("group_typing_indicator", gid, sender,
	    typing, 0);
	group_msg = groups_typing_frame("typing_indicator", gid, sender,
	    typing, 1);
	for (size_t i = 0; main_msg != NULL && i < g->nmembers; i++)
		if (strcmp(g->members[i], sender) != 0)
			hub_send(hub, g->members[i], main_msg, NULL);
	for (struct session *s = g->sockets; group_msg != NULL && s != NULL;
	    s = s->next_in_group)
		if (strcmp(s->account_id, sender) != 0)
			session_push(s, group_msg);
	outmsg_unref(main_msg);
	outmsg_unref(group_msg);
}
