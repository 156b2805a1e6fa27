/*
 * A list of UUIDs kept as the text of a PostgreSQL uuid[] literal,
 * "{a,b,c}", ready to be a query parameter: the daemon's queries that name
 * many messages or accounts take one array instead of one row each. Any
 * word that an array literal takes unquoted (a cursor: digits and dots)
 * makes a text[] the same way.
 */
#ifndef CHAT_IDLIST_H
#define CHAT_IDLIST_H

#include <stddef.h>

#include "uuid.h"

struct idlist {
	char	*text;		/* "{a,b}" and a NUL once n > 0 */
	size_t	 len;		/* up to the closing brace */
	size_t	 cap;
	size_t	 n;
};

#define IDLIST_EMPTY	{ NULL, 0, 0, 0 }

/* Appends id (UUID text, or another word that needs no quoting). Returns
 * 0, or -1 out of memory (list unchanged). */
int	idlist_add(struct idlist *l, const char *id);
/* The literal, or NULL when the list is empty. */
const char *idlist_text(const struct idlist *l);
/* Empties the list, keeping its memory for the next ids. */
void	idlist_clear(struct idlist *l);
void	idlist_free(struct idlist *l);

#endif
