/*
 * The scanner of what a WebSocket connection receives (push-daemon/
 * rxscan.c), on raw bytes: fed whole and fed in chunks whose sizes the
 * input's first bytes choose, it stops at the same frame and ends in the
 * same state. Where the unmasked frame's first byte came in an earlier
 * chunk than its second, the chunked scan stops at the second.
 */
#include "fuzz.h"
#include "rxscan.h"

static int
fuzz_same(const struct rxscan *a, const struct rxscan *b)
{
	return a->phase == b->phase && a->head_len == b->head_len &&
	    a->line_empty == b->line_empty && a->past_head == b->past_head &&
	    a->header == b->header &&
	    a->header_len == b->header_len && a->length == b->length &&
	    a->payload == b->payload;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rxscan whole, chunked;
	size_t steps, stop, at = 0, stopped;

	if (size < 2)
		return 0;
	steps = data[0] % 8 + 1;	/* chunk sizes from data[1..steps] */
	if (size <= steps)
		return 0;
	rxscan_init(&whole);
	stop = rxscan_feed(&whole, data + 1 + steps, size - 1 - steps);
	FUZZ_CHECK(stop <= size - 1 - steps);
	FUZZ_CHECK((stop < size - 1 - steps) ==
	    (whole.phase == RXSCAN_UNMASKED));

	rxscan_init(&chunked);
	stopped = size - 1 - steps;
	for (size_t i = 0; at < size - 1 - steps; i++) {
		size_t n = data[1 + i % steps] % 64 + 1;
		size_t keep;

		if (n > size - 1 - steps - at)
			n = size - 1 - steps - at;
		keep = rxscan_feed(&chunked, data + 1 + steps + at, n);
		FUZZ_CHECK(keep <= n);
		if (keep < n && stopped == size - 1 - steps)
			stopped = at + keep;
		at += n;
	}
	FUZZ_CHECK(stopped == stop || stopped == stop + 1);
	FUZZ_CHECK(fuzz_same(&whole, &chunked));
	return 0;
}
