/* UTF-8 checks on untrusted input. */
#ifndef CHAT_UTF8_H
#define CHAT_UTF8_H

#include <stddef.h>

/*
 * Returns 1 when s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 otherwise. NUL bytes are valid
 * UTF-8 here; callers that refuse U+0000 check for it themselves.
 */
int	utf8_valid(const char *s, size_t len);

/* Number of code points in the valid UTF-8 string s[0..len). */
size_t	utf8_length(const char *s, size_t len);

/*
 * Finds s[0..len) without its leading and trailing white space (ASCII
 * and Unicode spaces, as Python's str.strip() sees them): the result is
 * s[*start..*end). s must be valid UTF-8.
 */
void	utf8_trim(const char *s, size_t len, size_t *start, size_t *end);

#endif
