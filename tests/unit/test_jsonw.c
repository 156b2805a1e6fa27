/* Unit tests of shared/jsonw.c: the JSON text writer of history pages. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jsonw.h"

#define USEC_PER_DAY	(86400LL * 1000000)

/* 1 when writing what f writes gives exactly expected. */
static int
writes(void (*f)(struct jsonw *), const char *expected)
{
	struct jsonw w;
	char *text;
	int same;

	jsonw_init(&w, 1 << 20);
	f(&w);
	text = jsonw_take(&w);
	same = text != NULL && strcmp(text, expected) == 0;
	if (!same)
		fprintf(stderr, "wrote %s, expected %s\n",
		    text != NULL ? text : "(null)", expected);
	free(text);
	return same;
}

static void w_epoch(struct jsonw *w) { jsonw_pg_time(w, 0); }
static void w_micro(struct jsonw *w) { jsonw_pg_time(w, 1); }
/* 2024-02-29T23:59:59.999999Z: a leap day, 8825 days after 2000-01-01. */
static void w_leap(struct jsonw *w)
{
	jsonw_pg_time(w, 8825 * USEC_PER_DAY + USEC_PER_DAY - 1);
}
/* 1999-12-31T23:59:59.500000Z: before PostgreSQL's epoch. */
static void w_before(struct jsonw *w) { jsonw_pg_time(w, -500000); }
/* 1970-01-01T00:00:00.000000Z. */
static void w_unix(struct jsonw *w) { jsonw_pg_time(w, -10957 * USEC_PER_DAY); }
/* 2100-03-01, 36,584 days on: 2100 is not a leap year (no 02-29). */
static void w_2100(struct jsonw *w) { jsonw_pg_time(w, 36584 * USEC_PER_DAY); }

/* 8,000 years of 146,097 days a 400: 10000-01-01, beyond four digits;
 * the day before is the last time written. */
static void w_far(struct jsonw *w) { jsonw_pg_time(w, 2921940 * USEC_PER_DAY); }
static void w_last(struct jsonw *w)
{
	jsonw_pg_time(w, 2921940 * USEC_PER_DAY - 1);
}
/* PostgreSQL's 'infinity' and '-infinity'; before 0000 too. */
static void w_infinity(struct jsonw *w) { jsonw_pg_time(w, INT64_MAX); }
static void w_minus_infinity(struct jsonw *w) { jsonw_pg_time(w, INT64_MIN); }
static void w_year_minus_one(struct jsonw *w)
{
	jsonw_pg_time(w, -730486 * USEC_PER_DAY);
}

/* One writer, several times: the date it keeps from the last time must
 * not leak into a time of another day. */
static void
w_days_in_turn(struct jsonw *w)
{
	jsonw_pg_time(w, 8825 * USEC_PER_DAY + 1);
	jsonw_pg_time(w, 8825 * USEC_PER_DAY + USEC_PER_DAY - 1);
	jsonw_pg_time(w, 8826 * USEC_PER_DAY);
	jsonw_pg_time(w, 2921940 * USEC_PER_DAY);	/* null: keeps 8826 */
	jsonw_pg_time(w, 8826 * USEC_PER_DAY + 1);
	jsonw_pg_time(w, 8825 * USEC_PER_DAY);
	jsonw_pg_time(w, -1);
}

static void
test_times(void)
{
	CHECK(writes(w_days_in_turn, "\"2024-02-29T00:00:00.000001Z\""
	    "\"2024-02-29T23:59:59.999999Z\"\"2024-03-01T00:00:00.000000Z\""
	    "null\"2024-03-01T00:00:00.000001Z\""
	    "\"2024-02-29T00:00:00.000000Z\""
	    "\"1999-12-31T23:59:59.999999Z\""));
	CHECK(writes(w_epoch, "\"2000-01-01T00:00:00.000000Z\""));
	CHECK(writes(w_micro, "\"2000-01-01T00:00:00.000001Z\""));
	CHECK(writes(w_leap, "\"2024-02-29T23:59:59.999999Z\""));
	CHECK(writes(w_before, "\"1999-12-31T23:59:59.500000Z\""));
	CHECK(writes(w_unix, "\"1970-01-01T00:00:00.000000Z\""));
	CHECK(writes(w_2100, "\"2100-03-01T00:00:00.000000Z\""));
	CHECK(writes(w_far, "null"));
	CHECK(writes(w_last, "\"9999-12-31T23:59:59.999999Z\""));
	CHECK(writes(w_infinity, "null"));
	CHECK(writes(w_minus_infinity, "null"));
	CHECK(writes(w_year_minus_one, "null"));
}

static void
w_escapes(struct jsonw *w)
{
	static const char s[] = "a\"b\\c\n\t\r\b\f\x01\x1f/\xc3\xa9 \x7f";

	jsonw_string(w, s, sizeof(s) - 1);
}

static void
w_nul(struct jsonw *w)
{
	jsonw_string(w, "a\0b", 3);
}

static void
test_strings(void)
{
	/* As PostgreSQL's json writes them: UTF-8 and / as they are. */
	CHECK(writes(w_escapes,
	    "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/\xc3\xa9 \x7f\""));
	CHECK(writes(w_nul, "\"a\\u0000b\""));
}

static void
w_uuid(struct jsonw *w)
{
	static const unsigned char id[16] = {
		0x0f, 0x8f, 0xad, 0x5b, 0xd9, 0xcb, 0x46, 0x9f,
		0xa1, 0x65, 0x70, 0x86, 0x77, 0x28, 0x95, 0x0e };

	jsonw_uuid(w, id);
}

static void
w_ints(struct jsonw *w)
{
	jsonw_lit(w, "[");
	jsonw_int(w, 0);
	jsonw_lit(w, ",");
	jsonw_int(w, -9223372036854775807LL - 1);
	jsonw_lit(w, "]");
}

static void
test_uuid_and_ints(void)
{
	CHECK(writes(w_uuid, "\"0f8fad5b-d9cb-469f-a165-70867728950e\""));
	CHECK(writes(w_ints, "[0,-9223372036854775808]"));
}

/* Growth past the first buffer, and the cap. */
static void
test_growth_and_cap(void)
{
	struct jsonw w;
	char *text;
	int i;

	jsonw_init(&w, 100000);
	for (i = 0; i < 10000; i++)
		jsonw_lit(&w, "0123456789");
	text = jsonw_take(&w);
	CHECK(text != NULL && strlen(text) == 100000);
	free(text);

	jsonw_init(&w, 100000);
	for (i = 0; i < 10001; i++)
		jsonw_lit(&w, "0123456789");
	CHECK(w.failed);
	CHECK(jsonw_take(&w) == NULL);
	jsonw_free(&w);

	/* Nothing written is the empty text, not a failure. */
	jsonw_init(&w, 10);
	text = jsonw_take(&w);
	CHECK(text != NULL && text[0] == '\0');
	free(text);
}

int
main(void)
{
	test_times();
	test_strings();
	test_uuid_and_ints();
	test_growth_and_cap();
	return check_done("test_jsonw");
}
