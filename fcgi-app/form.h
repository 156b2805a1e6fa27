/*
 * application/x-www-form-urlencoded data: query strings and login forms.
 * Values are percent-decoded, with '+' as a space; a value keeps its length,
 * so an encoded NUL (%00) stays visible to the caller.
 */
#ifndef CHAT_FORM_H
#define CHAT_FORM_H

#include <stddef.h>

/* Pairs past this many are ignored. */
#define FORM_MAX_FIELDS	32

struct form_field {
	char	*name;
	char	*value;
	size_t	 value_len;
};

struct form {
	struct form_field fields[FORM_MAX_FIELDS];
	int	 nfields;
};

/* Parses s[0..len). Returns 0, or -1 when out of memory. */
int	form_parse(struct form *form, const char *s, size_t len);
void	form_free(struct form *form);

/* The first field called name, or NULL. */
const struct form_field *form_get(const struct form *form, const char *name);

/*
 * Percent-decodes s[0..len) into a new NUL-terminated string, '+' as a
 * space when plus_is_space (forms and queries, not paths); a '%' not
 * followed by two hex digits is kept as it is. *outlen, when not NULL,
 * receives the decoded length.
 */
char	*form_decode(const char *s, size_t len, int plus_is_space,
	    size_t *outlen);

#endif
