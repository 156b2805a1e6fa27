/*
 * A JSON text writer for the hot paths whose answers are long lists (a
 * history page: 50 to 100 messages): one growing buffer, no object tree.
 * Writing never fails on the spot: an allocation that fails, or a text
 * that would pass its cap, marks the writer failed and jsonw_take()
 * answers NULL, so a caller checks once at the end.
 */
#ifndef CHAT_JSONW_H
#define CHAT_JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* cap on len, bytes */
	int	 failed;
	/* The last date jsonw_pg_time() wrote, "YYYY-MM-DD": the times of
	 * a page mostly share a few days (150 times in a page of 50). */
	int	 date_known;
	int64_t	 date_day;	/* days since 2000-01-01 */
	char	 date_text[10];
};

void	jsonw_init(struct jsonw *w, size_t max);
/* Frees what jsonw_take() was not given. */
void	jsonw_free(struct jsonw *w);
/* The text, NUL-terminated, for the caller to free; NULL if failed. */
char	*jsonw_take(struct jsonw *w);

/* Appends n bytes as they are (JSON the caller vouches for). */
void	jsonw_raw(struct jsonw *w, const char *s, size_t n);
#define jsonw_lit(w, s)	jsonw_raw((w), "" s, sizeof(s) - 1)
/* Appends n bytes of UTF-8 as a JSON string, quoted and escaped. */
void	jsonw_string(struct jsonw *w, const char *s, size_t n);
/* Appends a UUID, 16 bytes, as its quoted lowercase text. */
void	jsonw_uuid(struct jsonw *w, const unsigned char id[16]);
/*
 * Appends a PostgreSQL timestamp (microseconds since 2000-01-01 UTC) as a
 * quoted RFC 3339 time in UTC with six decimals: "2024-01-01T12:00:00.123456Z";
 * null for a year outside 0000-9999.
 */
void	jsonw_pg_time(struct jsonw *w, int64_t usec);
void	jsonw_int(struct jsonw *w, long long v);

#endif
