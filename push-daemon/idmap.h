/*
 * A map from account ids (UUID text) to pointers, for the push daemon's
 * in-memory indexes: sessions by account, accounts refused at handshake.
 * It grows by doubling; lookups hash the 36 characters.
 */
#ifndef CHAT_IDMAP_H
#define CHAT_IDMAP_H

#include <stddef.h>

#include "uuid.h"

struct idmap_entry {
	struct idmap_entry	*next;
	char			 id[UUID_TEXT_SIZE];
	void			*value;
};

struct idmap {
	struct idmap_entry	**buckets;
	size_t			 nbuckets;
	size_t			 count;
};

int	 idmap_init(struct idmap *map);
/* Frees the entries, not the values. */
void	 idmap_free(struct idmap *map);
void	*idmap_get(const struct idmap *map, const char *id);
/* Sets id to value. Returns 0, or -1 out of memory. */
int	 idmap_put(struct idmap *map, const char *id, void *value);
void	 idmap_remove(struct idmap *map, const char *id);
/*
 * Calls drop for every entry; removes those for which it returns 1 (drop
 * frees the value then). drop must not change the map.
 */
void	 idmap_sweep(struct idmap *map, int (*drop)(void *value, void *arg),
	    void *arg);

#endif
