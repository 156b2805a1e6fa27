#include <stdlib.h>
#include <string.h>

#include "idlist.h"

int
idlist_add(struct idlist *l, const char *id)
{
	/* A separator, the id, the closing brace and the NUL. */
	size_t len = strlen(id), need = l->len + len + 3;
	char *grown;

	if (need > l->cap) {
		if ((grown = realloc(l->text, need * 2)) == NULL)
			return -1;
		l->text = grown;
		l->cap = need * 2;
	}
	l->text[l->len++] = l->n == 0 ? '{' : ',';
	memcpy(l->text + l->len, id, len);
	l->len += len;
	l->text[l->len] = '}';
	l->text[l->len + 1] = '\0';
	l->n++;
	return 0;
}

const char *
idlist_text(const struct idlist *l)
{
	return l->n > 0 ? l->text : NULL;
}

void
idlist_clear(struct idlist *l)
{
	l->len = 0;
	l->n = 0;
}

void
idlist_free(struct idlist *l)
{
	free(l->text);
	memset(l, 0, sizeof(*l));
}
