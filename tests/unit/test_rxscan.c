/*
 * Unit tests of push-daemon/rxscan.c: the frames a connection receives,
 * read for their mask bit, in any chunks.
 */
#include <string.h>

#include "check.h"
#include "rxscan.h"

#define UPGRADE	"GET /ws?token=t HTTP/1.1\r\nHost: h\r\n" \
		"Upgrade: WebSocket\r\nConnection: Upgrade\r\n\r\n"

/* A client frame: FIN + text, the mask bit as told, len bytes of 'x'. */
static size_t
frame(unsigned char *out, size_t len, int masked)
{
	size_t n = 0;

	out[n++] = 0x81;
	if (len < 126)
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | len);
	else if (len < 65536) {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 126);
		out[n++] = (unsigned char)(len >> 8);
		out[n++] = (unsigned char)len;
	} else {
		out[n++] = (unsigned char)((masked ? 0x80 : 0) | 127);
		for (int shift = 56; shift >= 0; shift -= 8)
			out[n++] = (unsigned char)((unsigned long long)len >>
			    shift);
	}
	if (masked) {
		memcpy(out + n, "\1\2\3\4", 4);
		n += 4;
	}
	memset(out + n, 'x', len);
	return n + len;
}

/* The stream fed in chunks of step bytes: where the scanner stopped (the
 * offset in the whole stream), or len when it never did. */
static size_t
scan_in_steps(const unsigned char *s, size_t len, size_t step)
{
	struct rxscan scan;

	rxscan_init(&scan);
	for (size_t at = 0; at < len; at += step) {
		size_t n = len - at < step ? len - at : step;
		size_t keep = rxscan_feed(&scan, s + at, n);

		if (keep < n)
			return at + keep;
	}
	return len;
}

static unsigned char stream[3 * 70000 + 1024];

static void
test_masked_frames_pass(void)
{
	size_t n = strlen(UPGRADE);

	memcpy(stream, UPGRADE, n);
	n += frame(stream + n, 0, 1);
	n += frame(stream + n, 125, 1);
	n += frame(stream + n, 126, 1);
	n += frame(stream + n, 70000, 1);
	n += frame(stream + n, 3, 1);
	for (size_t step = 1; step <= 4096; step *= 2)
		CHECK(scan_in_steps(stream, n, step) == n);
	CHECK(scan_in_steps(stream, n, n) == n);
}

static void
test_unmasked_frame_found(void)
{
	size_t n = strlen(UPGRADE), bad;

	memcpy(stream, UPGRADE, n);
	n += frame(stream + n, 126, 1);
	n += frame(stream + n, 70000, 1);
	bad = n;
	n += frame(stream + n, 5, 0);
	n += frame(stream + n, 5, 1);
	for (size_t step = 1; step <= 4096; step *= 2) {
		/* The frame's first byte, or the start of the chunk holding
		 * its second when the first came in an earlier chunk. */
		size_t expected = (bad + 1) % step == 0 ? bad + 1 : bad;

		CHECK(scan_in_steps(stream, n, step) == expected);
	}
	CHECK(scan_in_steps(stream, n, n) == bad);
}

static void
test_once_found_nothing_more(void)
{
	struct rxscan scan;
	unsigned char f[16];
	size_t n = frame(f, 2, 0);

	rxscan_init(&scan);
	CHECK(rxscan_feed(&scan, (const unsigned char *)UPGRADE,
	    strlen(UPGRADE)) == strlen(UPGRADE));
	CHECK(rxscan_feed(&scan, f, n) == 0);
	CHECK(scan.phase == RXSCAN_UNMASKED);
	f[1] |= 0x80;
	CHECK(rxscan_feed(&scan, f, n) == 0);
}

/* The head ends at an empty line however lws would take it: CRLF or the
 * bare LF of broken peers, even after a false start ("\r\n\r" then a
 * character). */
static void
test_head_endings(void)
{
	static const char *const heads[] = {
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
		"GET / HTTP/1.1\nUpgrade: websocket\n\n",
		"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\n",
		"GET / HTTP/1.1\r\nA: b\r\n\rC: d\r\n\r\n",
	};
	unsigned char f[16];
	size_t n = frame(f, 1, 0);

	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct rxscan scan;
		size_t len = strlen(heads[i]);

		rxscan_init(&scan);
		CHECK(rxscan_feed(&scan, (const unsigned char *)heads[i], len)
		    == len);
		CHECK(scan.phase == RXSCAN_FRAMES);
		CHECK(rxscan_feed(&scan, f, n) == 0);
	}
}

/* A 64-bit length with its high bits set is skipped, not misread: the
 * frames that follow in the same stream are payload. */
static void
test_huge_length(void)
{
	static const unsigned char f[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0,
	    0, 1, 1, 2, 3, 4, 0x81, 0x01, 'x' };
	struct rxscan scan;

	rxscan_init(&scan);
	CHECK(rxscan_feed(&scan, (const unsigned char *)UPGRADE,
	    strlen(UPGRADE)) == strlen(UPGRADE));
	CHECK(rxscan_feed(&scan, f, sizeof(f)) == sizeof(f));
	CHECK(scan.phase == RXSCAN_FRAMES);
	CHECK(scan.payload == 0x8000000000000001ULL - 3);
}

static void
test_long_head_unscanned(void)
{
	static unsigned char head[RXSCAN_HEAD_MAX + 10];
	struct rxscan scan;
	unsigned char f[16];
	size_t n = frame(f, 1, 0);

	memset(head, 'a', sizeof(head));
	rxscan_init(&scan);
	CHECK(rxscan_feed(&scan, head, sizeof(head)) == sizeof(head));
	CHECK(scan.phase == RXSCAN_UNSCANNED);
	CHECK(rxscan_feed(&scan, f, n) == n);
}

int
main(void)
{
	test_masked_frames_pass();
	test_unmasked_frame_found();
	test_once_found_nothing_more();
	test_head_endings();
	test_huge_length();
	test_long_head_unscanned();
	return check_done("test_rxscan");
}
