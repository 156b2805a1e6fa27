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
	if (idmap_init(&hub->accounts) == -1 || idmap_init(&hub->refused) == -1)
		return -1;
	return 0;
}

void
hub_free(struct hub *hub)
{
	idmap_free(&hub->accounts);
	idmap_free(&hub->refused);
}

int
hub_account_has_room(struct hub *hub, const char *account_id)
{
	int count = 0;

	for (struct session *s = hub_sessions(hub, account_id); s != NULL;
	    s = s->next_of_account)
		count++;
	return count < hub->cfg->push_max_per_account;
}

int
hub_link(struct hub *hub, struct session *s)
{
	struct session *first = idmap_get(&hub->accounts, s->account_id);

	if (!hub_account_has_room(hub, s->account_id))
		return -1;
	if (idmap_put(&hub->accounts, s->account_id, s) == -1)
		return -1;
	s->next_of_account = first;
	s->linked = 1;
	hub->nsessions++;
	return 0;
}

void
hub_unlink(struct hub *hub, struct session *s)
{
	struct session *first, **pp;

	if (!s->linked)
		return;
	first = idmap_get(&hub->accounts, s->account_id);
	for (pp = &first; *pp != NULL; pp = &(*pp)->next_of_account) {
		if (*pp == s) {
			*pp = s->next_of_account;
			break;
		}
	}
	if (first == NULL)
		idmap_remove(&hub->accounts, s->account_id);
	else
		idmap_put(&hub->accounts, s->account_id, first);
	s->linked = 0;
	s->next_of_account = NULL;
	hub->nsessions--;
}

struct session *
hub_sessions(struct hub *hub, const char *account_id)
{
	return idmap_get(&hub->accounts, account_id);
}

int
hub_account_online(struct hub *hub, const char *account_id)
{
	return hub_sessions(hub, account_id) != NULL;
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
	struct idmap *map = &hub->accounts;

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
