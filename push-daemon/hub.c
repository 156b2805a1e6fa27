#include <stdlib.h>
#include <string.h>

#include "hub.h"
#include "log.h"

int
hub_init(struct hub *hub, const struct config *cfg, const char *node)
{
	memset(hub, 0, sizeof(*hub));
	hub->cfg = cfg;
	snprintf(hub->node_id, sizeof(hub->node_id), "%s", node);
	if (session_index_init(&hub->sessions, cfg) == -1 ||
	    idmap_init(&hub->refused) == -1)
		return -1;
	return 0;
}

void
hub_free(struct hub *hub)
{
	session_index_free(&hub->sessions);
	idmap_free(&hub->refused);
}

struct session *
hub_sessions(struct hub *hub, const char *account_id)
{
	return session_index_first(&hub->sessions, account_id);
}

int
hub_account_online(struct hub *hub, const char *account_id)
{
	return hub_sessions(hub, account_id) != NULL;
}

int
hub_account_online_besides(struct hub *hub, const struct session_ref *ref)
{
	for (struct session *s = hub_sessions(hub, ref->account_id); s != NULL;
	    s = s->next_of_account)
		if (s->id != ref->id)
			return 1;
	return 0;
}

struct session *
hub_find(struct hub *hub, const struct session_ref *ref)
{
	for (struct session *s = hub_sessions(hub, ref->account_id); s != NULL;
	    s = s->next_of_account)
		if (s->id == ref->id)
			return s;
	return NULL;
}

void
hub_send(struct hub *hub, const char *account_id, struct outmsg *msg,
    const struct session *skip)
{
	for (struct session *s = hub_sessions(hub, account_id); s != NULL;
	    s = s->next_of_account)
		if (s != skip)
			session_push(s, msg);
}

void
hub_each(struct hub *hub, void (*fn)(struct session *, void *), void *arg)
{
	struct idmap *map = &hub->sessions.accounts;

	for (size_t i = 0; i < map->nbuckets; i++)
		for (struct idmap_entry *e = map->buckets[i]; e != NULL;
		    e = e->next)
			for (struct session *s = e->value; s != NULL;
			    s = s->next_of_account)
				fn(s, arg);
}

static void
hub_close_one(struct session *s, void *arg)
{
	session_close(s, *(int *)arg);
}

void
hub_close_all(struct hub *hub, int code)
{
	hub_each(hub, hub_close_one, &code);
}

size_t
hub_close_account(struct hub *hub, const char *account_id, int code)
{
	size_t n = 0;

	for (struct session *s = hub_sessions(hub, account_id); s != NULL;
	    s = s->next_of_account) {
		if (s->state != SESSION_CLOSING)
			n++;
		session_close(s, code);
	}
	return n;
}
