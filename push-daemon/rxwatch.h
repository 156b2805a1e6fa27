/*
 * Refusing client frames that are not masked (RFC 6455 §5.1), which lws
 * 4.1.6 reads without checking the mask bit and without telling its user.
 * rxwatch.c defines recv() and close() for the whole program: the dynamic
 * linker binds lws's calls (and libpq's) to them. What a watched
 * connection receives goes through its scanner (rxscan.h) on its way to
 * lws:
 * - While in the request's head, lws gets one line a read, so that when
 *   lws finds the head complete (it can only on an LF), the scanner has
 *   seen exactly what lws has. The handshake is refused (400) unless both
 *   end the head at the same byte (rxwatch_head_ok).
 * - Then frames: once an unmasked one has come, lws gets only the bytes
 *   before it and nothing more, and the connection is closed with 1002 at
 *   its next writeable callback (ws.c).
 * Everything else passes through untouched: descriptors not watched,
 * MSG_PEEK, errors.
 */
#ifndef CHAT_RXWATCH_H
#define CHAT_RXWATCH_H

#include <libwebsockets.h>

/* A connection accepted on fd: scanned from its first byte. -1: no
 * memory to watch it (it must be hung up). */
int	rxwatch_open(int fd);

/*
 * At the handshake of wsi: whether its scanner ended the head where lws
 * did, with no byte after it, and it is a connection of its own (not an
 * HTTP/2 stream). Otherwise its frames could not be read: refuse it.
 */
int	rxwatch_head_ok(struct lws *wsi);

/* wsi is established: an unmasked frame makes it writeable (ws.c). */
void	rxwatch_attach(struct lws *wsi);

/* wsi is going: it is no longer told about. */
void	rxwatch_detach(struct lws *wsi);

/* Whether wsi's connection has sent an unmasked frame. */
int	rxwatch_refused(struct lws *wsi);

#endif
