#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

#define JSONW_FIRST_CAP	4096

void
jsonw_init(struct jsonw *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->max = max;
}

void
jsonw_free(struct jsonw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

/* Room for n more bytes and a NUL; 0, or -1 with the writer failed. */
static int
jsonw_reserve(struct jsonw *w, size_t n)
{
	size_t need, cap;
	char *grown;

	if (w->failed)
		return -1;
	if (n > w->max || w->len > w->max - n) {
		w->failed = 1;
		return -1;
	}
	need = w->len + n + 1;
	if (need <= w->cap)
		return 0;
	cap = w->cap != 0 ? w->cap : JSONW_FIRST_CAP;
	while (cap < need)
		cap *= 2;
	if ((grown = realloc(w->buf, cap)) == NULL) {
		w->failed = 1;
		return -1;
	}
	w->buf = grown;
	w->cap = cap;
	return 0;
}

char *
jsonw_take(struct jsonw *w)
{
	char *text;

	if (jsonw_reserve(w, 0) == -1) {
		jsonw_free(w);
		return NULL;
	}
	w->buf[w->len] = '\0';
	text = w->buf;
	w->buf = NULL;
	w->len = w->cap = 0;
	return text;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	if (jsonw_reserve(w, n) == 0) {
		memcpy(w->buf + w->len, s, n);
		w->len += n;
	}
}

/* The escape of byte c, or NULL when it stands for itself. */
static const char *
jsonw_escape(unsigned char c, char tmp[8])
{
	switch (c) {
	case '"':	return "\\\"";
	case '\\':	return "\\\\";
	case '\b':	return "\\b";
	case '\f':	return "\\f";
	case '\n':	return "\\n";
	case '\r':	return "\\r";
	case '\t':	return "\\t";
	}
	if (c >= 0x20)
		return NULL;
	snprintf(tmp, 8, "\\u%04x", c);
	return tmp;
}

void
jsonw_string(struct jsonw *w, const char *s, size_t n)
{
	size_t i, run = 0;
	const char *esc;
	char tmp[8];

	jsonw_lit(w, "\"");
	for (i = 0; i < n; i++) {
		if ((esc = jsonw_escape((unsigned char)s[i], tmp)) == NULL)
			continue;
		jsonw_raw(w, s + run, i - run);
		jsonw_raw(w, esc, strlen(esc));
		run = i + 1;
	}
	jsonw_raw(w, s + run, n - run);
	jsonw_lit(w, "\"");
}

void
jsonw_uuid(struct jsonw *w, const unsigned char id[16])
{
	static const char hex[] = "0123456789abcdef";
	char text[38];
	size_t i, o = 0;

	text[o++] = '"';
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			text[o++] = '-';
		text[o++] = hex[id[i] >> 4];
		text[o++] = hex[id[i] & 0x0f];
	}
	text[o++] = '"';
	jsonw_raw(w, text, o);
}

/* Floor division, for times before 2000. */
static int64_t
jsonw_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Writes v as width digits, zero-padded, at p (history pages write three
 * times a message: snprintf was a tenth of chat-fcgi's time). */
static char *
jsonw_digits(char *p, long long v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

/*
 * Writes day (days since 2000-01-01) as "YYYY-MM-DD" into text; -1 for a
 * year outside 0000-9999. H. Hinnant's algorithm, which counts from
 * 0000-03-01.
 */
static int
jsonw_date(int64_t day, char text[10])
{
	int64_t z, era, doe, yoe, y, doy, mp, d, m;
	char *p = text;

	z = day + 10957 + 719468;
	era = jsonw_floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999)
		return -1;
	p = jsonw_digits(p, y, 4);
	*p++ = '-';
	p = jsonw_digits(p, m, 2);
	*p++ = '-';
	jsonw_digits(p, d, 2);
	return 0;
}

void
jsonw_pg_time(struct jsonw *w, int64_t usec)
{
	const int64_t day = 86400LL * 1000000;
	int64_t days, in_day, secs;
	char text[40], *p = text;

	/* 'infinity' and '-infinity' are INT64_MAX and INT64_MIN, where
	 * days * day would overflow: null, as for any time beyond a
	 * four-digit year (2^62 us is 146,000 years). */
	if (usec > INT64_C(1) << 62 || usec < -(INT64_C(1) << 62)) {
		jsonw_lit(w, "null");
		return;
	}
	days = jsonw_floor_div(usec, day);
	in_day = usec - days * day;
	if (!w->date_known || w->date_day != days) {
		/* No message time (clock_timestamp()) is that far off: null
		 * rather than a malformed time. */
		if (jsonw_date(days, w->date_text) == -1) {
			jsonw_lit(w, "null");
			return;
		}
		w->date_known = 1;
		w->date_day = days;
	}
	secs = in_day / 1000000;
	*p++ = '"';
	memcpy(p, w->date_text, sizeof(w->date_text));
	p += sizeof(w->date_text);
	*p++ = 'T';
	p = jsonw_digits(p, secs / 3600, 2);
	*p++ = ':';
	p = jsonw_digits(p, secs / 60 % 60, 2);
	*p++ = ':';
	p = jsonw_digits(p, secs % 60, 2);
	*p++ = '.';
	p = jsonw_digits(p, in_day % 1000000, 6);
	*p++ = 'Z';
	*p++ = '"';
	jsonw_raw(w, text, (size_t)(p - text));
}

void
jsonw_int(struct jsonw *w, long long v)
{
	char text[24];
	int n = snprintf(text, sizeof(text), "%lld", v);

	jsonw_raw(w, text, (size_t)n);
}
