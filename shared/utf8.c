#include "utf8.h"

/* Follows the table of well-formed byte sequences in Unicode 15, 3.9. */
int
utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		unsigned char lo = 0x80, hi = 0xBF;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			if (c == 0xE0)
				lo = 0xA0;	/* overlong */
			else if (c == 0xED)
				hi = 0x9F;	/* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			if (c == 0xF0)
				lo = 0x90;	/* overlong */
			else if (c == 0xF4)
				hi = 0x8F;	/* above U+10FFFF */
		} else
			return 0;
		if (len - i <= n)
			return 0;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return 0;
		for (size_t k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xBF)
				return 0;
		i += n + 1;
	}
	return 1;
}

size_t
utf8_length(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t count = 0;

	for (size_t i = 0; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			count++;
	return count;
}

/* The code point starting at s[i], and its length in *n. */
static unsigned long
utf8_decode(const unsigned char *s, size_t len, size_t i, size_t *n)
{
	unsigned long cp = s[i];

	if (cp < 0x80) {
		*n = 1;
		return cp;
	}
	*n = cp >= 0xF0 ? 4 : cp >= 0xE0 ? 3 : 2;
	if (i + *n > len) {
		*n = 1;
		return 0xFFFD;
	}
	cp &= 0x3F >> (*n - 1);
	for (size_t k = 1; k < *n; k++)
		cp = cp << 6 | (s[i + k] & 0x3F);
	return cp;
}

static int
utf8_is_space(unsigned long cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) ||
	    cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
	    (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

void
utf8_trim(const char *str, size_t len, size_t *start, size_t *end)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, n, last = 0;

	*start = len;
	*end = len;
	while (i < len) {
		unsigned long cp = utf8_decode(s, len, i, &n);

		if (!utf8_is_space(cp)) {
			if (*start == len)
				*start = i;
			last = i + n;
		}
		i += n;
	}
	if (*start == len)
		*end = len;	/* all white space: empty */
	else
		*end = last;
}
