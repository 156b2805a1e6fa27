/*
 * The one rule of RFC 6455 that lws 4.1.6 does not enforce: every frame a
 * client sends is masked (§5.1). A scanner follows the bytes one
 * connection receives, in whatever chunks they come: the HTTP request's
 * head up to its empty line, then the frames, header by header, skipping
 * their payloads, up to the first frame whose mask bit is clear. It keeps
 * a few integers, no data. The head is the handshake's: on the push
 * daemon's port a connection that is not upgraded ends after its first
 * request (ws.c), so frames are what follows it. Where the head ends is
 * the scanner's reading; rxwatch.c makes sure it is lws's too.
 */
#ifndef CHAT_RXSCAN_H
#define CHAT_RXSCAN_H

#include <stddef.h>
#include <stdint.h>

/* A head longer than this is not scanned (lws refuses it). */
#define RXSCAN_HEAD_MAX	65536

enum rxscan_phase {
	RXSCAN_HEAD,		/* in the request's head */
	RXSCAN_FRAMES,		/* in frames, after the head */
	RXSCAN_UNMASKED,	/* a client frame without its mask: the end */
	RXSCAN_UNSCANNED,	/* a head past RXSCAN_HEAD_MAX: no more */
};

struct rxscan {
	enum rxscan_phase phase;
	size_t		 head_len;	/* bytes of the head */
	uint8_t		 line_empty;	/* since the last LF: CRs at most */
	uint8_t		 past_head;	/* bytes came after the head */
	uint8_t		 header;	/* bytes of the frame header read */
	uint8_t		 header_len;	/* its length, known at its byte 2 */
	uint64_t	 length;	/* the payload length, as read */
	uint64_t	 payload;	/* payload bytes left to skip */
};

void	rxscan_init(struct rxscan *scan);

/*
 * Reads the next len bytes the connection received. Returns how many of
 * them come before the first byte of an unmasked frame: len when none
 * does; once the scanner has found one, 0 for every later chunk.
 */
size_t	rxscan_feed(struct rxscan *scan, const unsigned char *buf,
	    size_t len);

#endif
