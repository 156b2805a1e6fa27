/* Unit tests of shared/utf8.c: utf8_valid, utf8_length and utf8_trim. */
#include <string.h>

#include "check.h"
#include "utf8.h"

/* utf8_valid on a byte string given as a C literal (may hold NULs). */
#define VALID(lit)	utf8_valid((lit), sizeof(lit) - 1)
#define LENGTH(lit)	utf8_length((lit), sizeof(lit) - 1)

static void
test_ascii(void)
{
	CHECK(VALID("hello, world") == 1);
	CHECK(VALID("\x01\x7f") == 1);
	CHECK(VALID("") == 1);
	CHECK(utf8_valid(NULL, 0) == 1);
	/* len bounds the check: the invalid byte after it is not read. */
	CHECK(utf8_valid("ab\xff", 2) == 1);
	CHECK(utf8_valid("ab\xff", 3) == 0);
}

static void
test_embedded_nul(void)
{
	CHECK(VALID("a\0b") == 1);
	CHECK(VALID("\0") == 1);
	CHECK(VALID("\xc3\xa9\0\xc3\xa9") == 1);
}

static void
test_multibyte(void)
{
	CHECK(VALID("\xc3\xa9") == 1);			/* U+00E9 */
	CHECK(VALID("\xe2\x82\xac") == 1);		/* U+20AC */
	CHECK(VALID("\xf0\x9f\x98\x80") == 1);		/* U+1F600 */
	CHECK(VALID("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z") == 1);
	CHECK(VALID("\xed\x9f\xbf") == 1);		/* U+D7FF */
	CHECK(VALID("\xee\x80\x80") == 1);		/* U+E000 */
}

static void
test_boundaries(void)
{
	CHECK(VALID("\x7f") == 1);			/* U+007F */
	CHECK(VALID("\xc2\x80") == 1);			/* U+0080 */
	CHECK(VALID("\xdf\xbf") == 1);			/* U+07FF */
	CHECK(VALID("\xe0\xa0\x80") == 1);		/* U+0800 */
	CHECK(VALID("\xef\xbf\xbf") == 1);		/* U+FFFF */
	CHECK(VALID("\xf0\x90\x80\x80") == 1);		/* U+10000 */
	CHECK(VALID("\xf4\x8f\xbf\xbf") == 1);		/* U+10FFFF */
}

static void
test_overlong(void)
{
	CHECK(VALID("\xc0\x80") == 0);			/* U+0000 in 2 */
	CHECK(VALID("\xc1\xbf") == 0);			/* U+007F in 2 */
	CHECK(VALID("\xe0\x80\x80") == 0);		/* U+0000 in 3 */
	CHECK(VALID("\xe0\x9f\xbf") == 0);		/* U+07FF in 3 */
	CHECK(VALID("\xf0\x80\x80\x80") == 0);		/* U+0000 in 4 */
	CHECK(VALID("\xf0\x8f\xbf\xbf") == 0);		/* U+FFFF in 4 */
}

static void
test_surrogates(void)
{
	CHECK(VALID("\xed\xa0\x80") == 0);		/* U+D800 */
	CHECK(VALID("\xed\xaf\xbf") == 0);		/* U+DBFF */
	CHECK(VALID("\xed\xb0\x80") == 0);		/* U+DC00 */
	CHECK(VALID("\xed\xbf\xbf") == 0);		/* U+DFFF */
	/* A CESU-8 pair for U+1F600. */
	CHECK(VALID("\xed\xa0\xbd\xed\xb8\x80") == 0);
}

static void
test_above_max(void)
{
	CHECK(VALID("\xf4\x90\x80\x80") == 0);		/* U+110000 */
	CHECK(VALID("\xf5\x80\x80\x80") == 0);
	CHECK(VALID("\xf7\xbf\xbf\xbf") == 0);
	CHECK(VALID("\xf8\x88\x80\x80\x80") == 0);	/* old 5-byte form */
	CHECK(VALID("\xfc\x84\x80\x80\x80\x80") == 0);	/* old 6-byte form */
	CHECK(VALID("\xfe") == 0);
	CHECK(VALID("\xff") == 0);
}

static void
test_truncated(void)
{
	CHECK(VALID("\xc3") == 0);
	CHECK(VALID("a\xc3") == 0);
	CHECK(VALID("\xe2\x82") == 0);
	CHECK(VALID("\xe2") == 0);
	CHECK(VALID("\xf0\x9f\x98") == 0);
	CHECK(VALID("\xf0\x9f") == 0);
	CHECK(VALID("\xf0") == 0);
	/* Cut short by len although the bytes follow in memory. */
	CHECK(utf8_valid("\xe2\x82\xac", 2) == 0);
	CHECK(utf8_valid("x\xf0\x9f\x98\x80", 4) == 0);
	/* Cut short by the next character rather than by the end. */
	CHECK(VALID("\xc3" "a") == 0);
	CHECK(VALID("\xe2\x82" "a") == 0);
	CHECK(VALID("\xf0\x9f\x98" "a") == 0);
	CHECK(VALID("\xe2\x82\xc3\xa9") == 0);
}

static void
test_stray_continuation(void)
{
	CHECK(VALID("\x80") == 0);
	CHECK(VALID("\xbf") == 0);
	CHECK(VALID("a\x80" "b") == 0);
	CHECK(VALID("\xc3\xa9\xa9") == 0);		/* one too many */
	CHECK(VALID("\xe2\x82\xac\x80") == 0);
	CHECK(VALID("\xf0\x9f\x98\x80\x80") == 0);
}

static void
test_length(void)
{
	CHECK(LENGTH("") == 0);
	CHECK(LENGTH("abc") == 3);
	CHECK(LENGTH("\xc3\xa9") == 1);
	CHECK(LENGTH("\xe2\x82\xac") == 1);
	CHECK(LENGTH("\xf0\x9f\x98\x80") == 1);
	CHECK(LENGTH("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z") == 5);
	CHECK(LENGTH("a\0b") == 3);
	CHECK(LENGTH("\xf4\x8f\xbf\xbf\x7f\xc2\x80") == 3);
	/* Only the first len bytes count. */
	CHECK(utf8_length("\xc3\xa9\xc3\xa9", 2) == 1);
}

/* 1 when utf8_trim finds lit[start..end). */
#define TRIM(lit, s, e)	trims_to((lit), sizeof(lit) - 1, (s), (e))

static int
trims_to(const char *str, size_t len, size_t want_start, size_t want_end)
{
	size_t start = 999, end = 999;

	utf8_trim(str, len, &start, &end);
	return start == want_start && end == want_end;
}

static void
test_trim_ascii(void)
{
	CHECK(TRIM("abc", 0, 3));
	CHECK(TRIM("  abc  ", 2, 5));
	CHECK(TRIM("\t\n\v\f\rabc\r\n", 5, 8));
	CHECK(TRIM(" a b ", 1, 4));		/* inner space kept */
	CHECK(TRIM("\x1c\x1d\x1e\x1f" "x", 4, 5));
	CHECK(TRIM("x\x1f", 0, 1));
	/* Not white space: NUL, other controls, DEL. */
	CHECK(TRIM("\0a\0", 0, 3));
	CHECK(TRIM("\x08" "a\x7f", 0, 3));
	CHECK(TRIM("\x1b", 0, 1));
}

static void
test_trim_unicode(void)
{
	CHECK(TRIM("\xc2\xa0" "abc" "\xc2\xa0", 2, 5));	/* NBSP */
	CHECK(TRIM("\xc2\x85" "a", 2, 3));			/* NEL */
	CHECK(TRIM("\xe3\x80\x80" "a" "\xe3\x80\x80", 3, 4)); /* U+3000 */
	CHECK(TRIM("\xe1\x9a\x80" "a", 3, 4));		/* U+1680 */
	CHECK(TRIM("\xe2\x80\x80" "a" "\xe2\x80\x8a", 3, 4)); /* 2000, 200A */
	CHECK(TRIM("a\xe2\x80\xa8\xe2\x80\xa9", 0, 1));	/* 2028, 2029 */
	CHECK(TRIM("\xe2\x80\xaf" "a" "\xe2\x81\x9f", 3, 4)); /* 202F, 205F */
	/* Inner Unicode spaces are kept. */
	CHECK(TRIM(" \xc3\xa9\xe3\x80\x80\xc3\xa9 ", 1, 8));
	/* Multibyte letters at the edges are kept whole. */
	CHECK(TRIM("\xf0\x9f\x98\x80", 0, 4));
	CHECK(TRIM(" \xf0\x9f\x98\x80 ", 1, 5));
	CHECK(TRIM("\xe2\x82\xac ", 0, 3));
}

/* Characters that look blank but Python's strip() keeps. */
static void
test_trim_not_space(void)
{
	CHECK(TRIM("\xe2\x80\x8b" "a", 0, 4));		/* ZWSP U+200B */
	CHECK(TRIM("\xef\xbb\xbf" "a", 0, 4));		/* BOM U+FEFF */
	CHECK(TRIM("\xe1\xa0\x8e" "a", 0, 4));		/* U+180E */
	CHECK(TRIM("a\xe2\x81\xa0", 0, 4));			/* WJ U+2060 */
	CHECK(TRIM("\xe2\x80\x8c", 0, 3));			/* ZWNJ */
	/* Code points next to the space ranges. */
	CHECK(TRIM("\xe2\x80\x8b", 0, 3));			/* U+200B */
	CHECK(TRIM("\xe2\x80\xa7", 0, 3));			/* U+2027 */
	CHECK(TRIM("\xe2\x80\xaa", 0, 3));			/* U+202A */
	CHECK(TRIM("\xc2\x84", 0, 2));			/* U+0084 */
	CHECK(TRIM("\xc2\xa1", 0, 2));			/* U+00A1 */
}

static void
test_trim_empty(void)
{
	CHECK(TRIM("", 0, 0));
	/* All white space: an empty result (start == end). */
	CHECK(TRIM("   ", 3, 3));
	CHECK(TRIM(" \xc2\xa0\xe3\x80\x80\n", 7, 7));
}

int
main(void)
{
	test_ascii();
	test_embedded_nul();
	test_multibyte();
	test_boundaries();
	test_overlong();
	test_surrogates();
	test_above_max();
	test_truncated();
	test_stray_continuation();
	test_length();
	test_trim_ascii();
	test_trim_unicode();
	test_trim_not_space();
	test_trim_empty();
	return check_done("utf8");
}
