/*
 * What a log line takes from a client: clientaddr_get(), which reads the
 * X-Forwarded-For header a client may write (and the list of trusted
 * proxies), and log_quote(), which escapes a name the client chose.
 *
 * The input: one byte, the size of log_quote()'s buffer; then
 * "trusted\nremote\nxff" (a part that is missing is NULL), which is also
 * the text log_quote() quotes.
 */
#include <arpa/inet.h>
#include <ctype.h>

#include "clientaddr.h"
#include "fuzz.h"
#include "log.h"

/* Whether s is an address as inet_ntop() writes one. */
static int
fuzz_is_address(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void
fuzz_clientaddr(const char *trusted, const char *remote, const char *xff)
{
	char out[CLIENTADDR_SIZE], again[CLIENTADDR_SIZE];

	memset(out, 'x', sizeof(out));
	clientaddr_get(trusted, remote, xff, out);
	FUZZ_CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	if (strcmp(out, "-") == 0)
		return;
	FUZZ_CHECK(fuzz_is_address(out));
	/* Written as it is read: the rule gives the same address again. */
	clientaddr_get(NULL, out, NULL, again);
	FUZZ_CHECK(strcmp(out, again) == 0);
	/* No trusted proxy: the peer, whatever the header says. */
	clientaddr_get(NULL, remote, xff, out);
	clientaddr_get(NULL, remote, NULL, again);
	FUZZ_CHECK(strcmp(out, again) == 0);
}

/*
 * The text of a quoted string back (its escapes undone) into out;
 * returns its length, or -1 when an escape is not one log_quote() writes.
 */
static long
fuzz_unquote(const char *q, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)q[i];

		if (c < 0x20 || c >= 0x7f)
			return -1;
		if (c != '\\') {
			out[n++] = (char)c;
			continue;
		}
		if (i + 1 < len && (q[i + 1] == '"' || q[i + 1] == '\\'))
			out[n++] = q[++i];
		else if (i + 3 < len && q[i + 1] == 'x' &&
		    isxdigit((unsigned char)q[i + 2]) &&
		    isxdigit((unsigned char)q[i + 3])) {
			char hex[3] = { q[i + 2], q[i + 3], '\0' };

			out[n++] = (char)strtol(hex, NULL, 16);
			i += 3;
		} else
			return -1;
	}
	return (long)n;
}

static void
fuzz_quote(const char *text, size_t size)
{
	char *buf = malloc(size > 0 ? size : 1), *plain;
	size_t len, tlen = strlen(text);
	long n;

	if (buf == NULL)
		abort();
	log_quote(text, buf, size);
	if (size == 0) {
		free(buf);
		return;
	}
	len = strlen(buf);
	FUZZ_CHECK(len < size);
	if (size < 8) {
		FUZZ_CHECK(len == 0);
		free(buf);
		return;
	}
	FUZZ_CHECK(len >= 2 && buf[0] == '"' && buf[len - 1] == '"');
	if ((plain = malloc(len)) == NULL)
		abort();
	n = fuzz_unquote(buf + 1, len - 2, plain);
	FUZZ_CHECK(n >= 0);
	/* The whole text, or a part of its start and "...". */
	if ((size_t)n != tlen || memcmp(plain, text, tlen) != 0) {
		FUZZ_CHECK(n >= 3 && memcmp(plain + n - 3, "...", 3) == 0);
		FUZZ_CHECK((size_t)n - 3 < tlen &&
		    memcmp(plain, text, (size_t)n - 3) == 0);
	}
	free(plain);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *part[3] = { NULL, NULL, NULL }, *p;

	if (size == 0)
		return 0;
	text = fuzz_text(data + 1, size - 1);
	fuzz_quote(text, data[0]);
	p = text;
	for (int i = 0; i < 3 && p != NULL; i++) {
		part[i] = p;
		if ((p = strchr(p, '\n')) != NULL)
			*p++ = '\0';
	}
	fuzz_clientaddr(part[0], part[1], part[2]);
	free(text);
	return 0;
}
