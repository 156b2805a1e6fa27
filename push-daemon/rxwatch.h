/*
 * Refusing client frames that are not masked (RFC 6455 §5.1), which lws
 * 4.1.6 reads without checking the mask bit and without telling its user.
 * rxwatch.c defines recv() and close() for the whole program: the dynamic
 * linker binds lws's calls (and libpq's) to them. What a watched
 * connection receives goes through its scanner (rxscan.h) on its way to
 * lws; from the first unmasked frame on, none of it reaches lws, and the
 * connection is closed with 1002 at its next writeable callback (ws.c).
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
 * The connection on fd is established as wsi. Returns -1 when it has sent
 * an unmasked frame already (with its handshake): it must be closed.
 */
int	rxwatch_attach(int fd, struct lws *wsi);

/* wsi is going: its connection is no longer told about (ws.c, closed). */
void	rxwatch_detach(int fd);

/* Whether the connection on fd has sent an unmasked frame. */
int	rxwatch_refused(int fd);

#endif
