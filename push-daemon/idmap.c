#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

#define IDMAP_INITIAL	1024

/* FNV-1a over the id's characters. */
static size_t
idmap_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id != '\0'; id++) {
		h ^= (unsigned char)*id;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

int
idmap_init(struct idmap *map)
{
	map->nbuckets = IDMAP_INITIAL;
	map->count = 0;
	map->buckets = calloc(map->nbuckets, sizeof(*map->buckets));
	return map->buckets != NULL ? 0 : -1;
}

void
idmap_free(struct idmap *map)
{
	for (size_t i = 0; i < map->nbuckets; i++) {
		struct idmap_entry *e = map->buckets[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(map->buckets);
	memset(map, 0, sizeof(*map));
}

static struct idmap_entry **
idmap_slot(const struct idmap *map, const char *id)
{
	struct idmap_entry **slot =
	    &map->buckets[idmap_hash(id) & (map->nbuckets - 1)];

	while (*slot != NULL && strcmp((*slot)->id, id) != 0)
		slot = &(*slot)->next;
	return slot;
}

void *
idmap_get(const struct idmap *map, const char *id)
{
	struct idmap_entry *e = *idmap_slot(map, id);

	return e != NULL ? e->value : NULL;
}

static void
idmap_grow(struct idmap *map)
{
	size_t n = map->nbuckets * 2;
	struct idmap_entry **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;		/* stays correct, only slower */
	for (size_t i = 0; i < map->nbuckets; i++) {
		struct idmap_entry *e = map->buckets[i], *next;

		for (; e != NULL; e = next) {
			size_t k = idmap_hash(e->id) & (n - 1);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(map->buckets);
	map->buckets = b;
	map->nbuckets = n;
}

int
idmap_put(struct idmap *map, const char *id, void *value)
{
	struct idmap_entry **slot = idmap_slot(map, id);

	if (*slot != NULL) {
		(*slot)->value = value;
		return 0;
	}
	if ((*slot = calloc(1, sizeof(**slot))) == NULL)
		return -1;
	memcpy((*slot)->id, id, UUID_TEXT_SIZE - 1);
	(*slot)->value = value;
	if (++map->count > map->nbuckets)
		idmap_grow(map);
	return 0;
}

void
idmap_remove(struct idmap *map, const char *id)
{
	struct idmap_entry **slot = idmap_slot(map, id);
	struct idmap_entry *e = *slot;

	if (e == NULL)
		return;
	*slot = e->next;
	free(e);
	map->count--;
}

void
idmap_sweep(struct idmap *map, int (*drop)(void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < map->nbuckets; i++) {
		struct idmap_entry **slot = &map->buckets[i], *e;

		while ((e = *slot) != NULL) {
			if (drop(e->value, arg)) {
				*slot = e->next;
				free(e);
				map->count--;
			} else
				slot = &e->next;
		}
	}
}
