#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "promtext.h"

const double promtext_bounds[PROMTEXT_NBUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
};

int
promtext_bucket(double seconds)
{
	int i;

	for (i = 0; i < PROMTEXT_NBUCKETS; i++)
		if (seconds <= promtext_bounds[i])
			break;
	return i;
}

void
promtext_observe(struct promtext_histogram *h, double seconds)
{
	if (seconds < 0)
		seconds = 0;
	h->counts[promtext_bucket(seconds)]++;
	h->sum += seconds;
}

void
promtext_init(struct promtext *pt)
{
	memset(pt, 0, sizeof(*pt));
}

void
promtext_free(struct promtext *pt)
{
	free(pt->buf);
	memset(pt, 0, sizeof(*pt));
}

static int
promtext_room(struct promtext *pt, size_t more)
{
	size_t cap;
	char *grown;

	if (pt->failed)
		return -1;
	if (pt->len + more + 1 <= pt->cap)
		return 0;
	cap = pt->cap > 0 ? pt->cap : 4096;
	while (cap < pt->len + more + 1)
		cap *= 2;
	if (cap > PROMTEXT_MAX || (grown = realloc(pt->buf, cap)) == NULL) {
		pt->failed = 1;
		return -1;
	}
	pt->buf = grown;
	pt->cap = cap;
	return 0;
}

static void
promtext_put(struct promtext *pt, const char *s, size_t n)
{
	if (promtext_room(pt, n) == -1)
		return;
	memcpy(pt->buf + pt->len, s, n);
	pt->len += n;
	pt->buf[pt->len] = '\0';
}

static void
promtext_puts(struct promtext *pt, const char *s)
{
	promtext_put(pt, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
promtext_printf(struct promtext *pt, const char *fmt, ...)
{
	char line[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		pt->failed = 1;
		return;
	}
	promtext_put(pt, line, (size_t)n);
}

/* A label value: backslash, double quote and newline escaped. */
static void
promtext_label_value(struct promtext *pt, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			promtext_puts(pt, "\\\\");
		else if (*v == '"')
			promtext_puts(pt, "\\\"");
		else if (*v == '\n')
			promtext_puts(pt, "\\n");
		else
			promtext_put(pt, v, 1);
	}
}

/* name{a="x",b="y"[,le="..."]} */
static void
promtext_name(struct promtext *pt, const char *name, const char *suffix,
    const char *const *labels, const char *le)
{
	int first = 1;

	promtext_puts(pt, name);
	promtext_puts(pt, suffix);
	if ((labels == NULL || labels[0] == NULL) && le == NULL)
		return;
	promtext_puts(pt, "{");
	for (; labels != NULL && labels[0] != NULL; labels += 2) {
		if (!first)
			promtext_puts(pt, ",");
		first = 0;
		promtext_puts(pt, labels[0]);
		promtext_puts(pt, "=\"");
		promtext_label_value(pt, labels[1]);
		promtext_puts(pt, "\"");
	}
	if (le != NULL) {
		if (!first)
			promtext_puts(pt, ",");
		promtext_puts(pt, "le=\"");
		promtext_puts(pt, le);
		promtext_puts(pt, "\"");
	}
	promtext_puts(pt, "}");
}

void
promtext_family(struct promtext *pt, const char *name, const char *type,
    const char *help)
{
	promtext_puts(pt, "# HELP ");
	promtext_puts(pt, name);
	promtext_puts(pt, " ");
	promtext_puts(pt, help);
	promtext_puts(pt, "\n# TYPE ");
	promtext_puts(pt, name);
	promtext_puts(pt, " ");
	promtext_puts(pt, type);
	promtext_puts(pt, "\n");
}

void
promtext_count(struct promtext *pt, const char *name,
    const char *const *labels, uint64_t value)
{
	promtext_name(pt, name, "", labels, NULL);
	promtext_printf(pt, " %llu\n", (unsigned long long)value);
}

void
promtext_value(struct promtext *pt, const char *name,
    const char *const *labels, double value)
{
	promtext_name(pt, name, "", labels, NULL);
	promtext_printf(pt, " %.9g\n", value);
}

void
promtext_histogram(struct promtext *pt, const char *name,
    const char *const *labels, const uint64_t *counts, double sum)
{
	uint64_t total = 0;
	char le[32];

	for (int i = 0; i <= PROMTEXT_NBUCKETS; i++) {
		total += counts[i];
		if (i < PROMTEXT_NBUCKETS)
			snprintf(le, sizeof(le), "%g", promtext_bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		promtext_name(pt, name, "_bucket", labels, le);
		promtext_printf(pt, " %llu\n", (unsigned long long)total);
	}
	promtext_name(pt, name, "_sum", labels, NULL);
	promtext_printf(pt, " %.9g\n", sum);
	promtext_name(pt, name, "_count", labels, NULL);
	promtext_printf(pt, " %llu\n", (unsigned long long)total);
}
