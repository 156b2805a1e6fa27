/*
 * The checks of untrusted text, on raw bytes: utf8_valid() against a
 * decoder written from RFC 3629, utf8_length(), utf8_trim(),
 * rules_string() with bounds from the input, uuid_normalize() (through
 * rules_uuid) and the CORS Origin match.
 */
#include <ctype.h>

#include "cors.h"
#include "fuzz.h"
#include "rules.h"
#include "utf8.h"

/*
 * RFC 3629: decode each sequence, then refuse overlong forms, surrogates
 * and code points past U+10FFFF. Returns the number of code points, or
 * -1 when s is not UTF-8.
 */
static long
fuzz_utf8_reference(const unsigned char *s, size_t len)
{
	long count = 0;

	for (size_t i = 0; i < len; count++) {
		unsigned long cp;
		size_t n;

		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xE0) == 0xC0) {
			n = 2;
			cp = s[i] & 0x1F;
		} else if ((s[i] & 0xF0) == 0xE0) {
			n = 3;
			cp = s[i] & 0x0F;
		} else if ((s[i] & 0xF8) == 0xF0) {
			n = 4;
			cp = s[i] & 0x07;
		} else
			return -1;
		if (len - i < n)
			return -1;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return -1;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
		    (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		i += n;
	}
	return count;
}

static void
fuzz_utf8(const char *s, size_t len)
{
	long ref = fuzz_utf8_reference((const unsigned char *)s, len);
	size_t start, end;

	FUZZ_CHECK(utf8_valid(s, len) == (ref >= 0));
	if (ref < 0)
		return;
	FUZZ_CHECK(utf8_length(s, len) == (size_t)ref);
	utf8_trim(s, len, &start, &end);
	FUZZ_CHECK(start <= end && end <= len);
	/* The trimmed text starts and ends on a character's boundary. */
	FUZZ_CHECK(start == len || ((unsigned char)s[start] & 0xC0) != 0x80);
	FUZZ_CHECK(end == len || ((unsigned char)s[end] & 0xC0) != 0x80);
	FUZZ_CHECK(utf8_valid(s + start, end - start));
	/* Trimming twice trims nothing more. */
	if (start < end) {
		size_t s2, e2;

		utf8_trim(s + start, end - start, &s2, &e2);
		FUZZ_CHECK(s2 == 0 && e2 == end - start);
	}
}

static void
fuzz_rules(const char *s, size_t len, size_t min, size_t max)
{
	struct rules_error e;
	int rc = rules_string(s, len, min, max, &e);

	if (rc == 0) {
		FUZZ_CHECK(memchr(s, '\0', len) == NULL);
		FUZZ_CHECK(utf8_valid(s, len));
		FUZZ_CHECK(utf8_length(s, len) >= min &&
		    utf8_length(s, len) <= max);
	} else
		FUZZ_CHECK(rc == -1 && e.type != NULL &&
		    memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
}

static void
fuzz_uuid(const char *text)
{
	char out[UUID_TEXT_SIZE];
	struct rules_error e;

	if (rules_uuid(text, out, &e) == -1)
		return;
	FUZZ_CHECK(strlen(out) == UUID_TEXT_SIZE - 1);
	for (int i = 0; i < UUID_TEXT_SIZE - 1; i++)
		FUZZ_CHECK(out[i] == (char)tolower((unsigned char)text[i]));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size);
	const char *nl;

	fuzz_utf8(text, size);
	if (size >= 2)
		fuzz_rules(text + 2, size - 2, data[0] % 8, data[1]);
	fuzz_uuid(text);

	/* "allowed list\norigin": the http.cors_origins match. */
	if ((nl = memchr(text, '\n', size)) != NULL) {
		char *list = strndup(text, (size_t)(nl - text));

		if (list == NULL)
			abort();
		if (cors_origin_allowed(list, nl + 1))
			FUZZ_CHECK(strlen(nl + 1) > 0 &&
			    strlen(nl + 1) <= CORS_ORIGIN_MAX);
		free(list);
	}
	free(text);
	return 0;
}
