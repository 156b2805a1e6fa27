#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

static int
form_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
form_decode(const char *s, size_t len, int plus_is_space, size_t *outlen)
{
	char *out = malloc(len + 1);
	size_t n = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '+' && plus_is_space)
			out[n++] = ' ';
		else if (s[i] == '%' && i + 2 < len &&
		    (hi = form_hex((unsigned char)s[i + 1])) >= 0 &&
		    (lo = form_hex((unsigned char)s[i + 2])) >= 0) {
			out[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else
			out[n++] = s[i];
	}
	out[n] = '\0';
	if (outlen != NULL)
		*outlen = n;
	return out;
}

int
form_parse(struct form *form, const char *s, size_t len)
{
	const char *end = s + len;

	memset(form, 0, sizeof(*form));
	while (s < end && form->nfields < FORM_MAX_FIELDS) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *stop = amp != NULL ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(stop - s));
		struct form_field *f = &form->fields[form->nfields];

		if (stop > s) {
			const char *name_end = eq != NULL ? eq : stop;
			const char *value = eq != NULL ? eq + 1 : stop;
			size_t name_len;

			f->name = form_decode(s, (size_t)(name_end - s), 1,
			    &name_len);
			f->value = form_decode(value, (size_t)(stop - value), 1,
			    &f->value_len);
			form->nfields++;
			if (f->name == NULL || f->value == NULL)
				return -1;
			/* A name with an encoded NUL names no field we know. */
			if (strlen(f->name) != name_len) {
				free(f->name);
				free(f->value);
				f->name = f->value = NULL;
				form->nfields--;
			}
		}
		s = stop + 1;
	}
	return 0;
}

void
form_free(struct form *form)
{
	for (int i = 0; i < form->nfields; i++) {
		free(form->fields[i].name);
		free(form->fields[i].value);
	}
	form->nfields = 0;
}

const struct form_field *
form_get(const struct form *form, const char *name)
{
	for (int i = 0; i < form->nfields; i++)
		if (strcmp(form->fields[i].name, name) == 0)
			return &form->fields[i];
	return NULL;
}
