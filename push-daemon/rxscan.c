#include <string.h>

#include "rxscan.h"

void
rxscan_init(struct rxscan *scan)
{
	memset(scan, 0, sizeof(*scan));
	scan->phase = RXSCAN_HEAD;
}

/*
 * One byte of the head, which ends at an empty line: an LF with nothing
 * but CRs since the LF before it ("\r\n\r\n", and the "\n\n" or
 * "\r\n\n" of broken peers). lws's own reading differs in corners;
 * rxwatch.c refuses a head where the two disagree.
 */
static void
rxscan_head(struct rxscan *scan, unsigned char c)
{
	if (++scan->head_len > RXSCAN_HEAD_MAX) {
		scan->phase = RXSCAN_UNSCANNED;
		return;
	}
	if (c == '\n') {
		if (scan->line_empty)
			scan->phase = RXSCAN_FRAMES;
		scan->line_empty = 1;
	} else if (c != '\r')
		scan->line_empty = 0;
}

/*
 * One byte of a frame header (RFC 6455 §5.2): the mask bit and length at
 * byte 2, an extended length of 2 or 8 bytes, then the 4 of the mask.
 * Returns -1 at byte 2 of a frame that is not masked.
 */
static int
rxscan_header(struct rxscan *scan, unsigned char c)
{
	uint8_t at = scan->header++;

	if (at == 1) {
		if (!(c & 0x80)) {
			scan->phase = RXSCAN_UNMASKED;
			return -1;
		}
		c &= 0x7f;
		scan->length = c < 126 ? c : 0;
		scan->header_len = 2 + (c == 126 ? 2 : c == 127 ? 8 : 0) + 4;
	} else if (at >= 2 && at < scan->header_len - 4)
		scan->length = scan->length << 8 | c;
	if (at >= 1 && scan->header == scan->header_len) {
		scan->payload = scan->length;
		scan->header = 0;
	}
	return 0;
}

size_t
rxscan_feed(struct rxscan *scan, const unsigned char *buf, size_t len)
{
	size_t i = 0, start = 0;	/* where the current frame began here */

	while (i < len) {
		switch (scan->phase) {
		case RXSCAN_HEAD:
			rxscan_head(scan, buf[i++]);
			break;
		case RXSCAN_FRAMES:
			scan->past_head = 1;
			if (scan->payload > 0) {
				uint64_t skip = len - i;

				if (skip > scan->payload)
					skip = scan->payload;
				scan->payload -= skip;
				i += (size_t)skip;
				break;
			}
			if (scan->header == 0)
				start = i;
			if (rxscan_header(scan, buf[i++]) == -1)
				return start;
			break;
		case RXSCAN_UNMASKED:
			return 0;
		case RXSCAN_UNSCANNED:
			return len;
		}
	}
	return len;
}
