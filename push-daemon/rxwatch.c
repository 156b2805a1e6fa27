#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rxscan.h"
#include "rxwatch.h"

struct rxwatch_conn {
	struct rxscan	 scan;
	struct lws	*wsi;		/* once established, until closed */
	uint8_t		 watched;
	uint8_t		 refused;	/* an unmasked frame came */
};

/* By descriptor; grown as descriptors are accepted. */
static struct rxwatch_conn *rxwatch_conns;
static size_t rxwatch_nconns;

static struct rxwatch_conn *
rxwatch_find(int fd)
{
	if (fd < 0 || (size_t)fd >= rxwatch_nconns ||
	    !rxwatch_conns[fd].watched)
		return NULL;
	return &rxwatch_conns[fd];
}

int
rxwatch_open(int fd)
{
	if (fd < 0)
		return -1;
	if ((size_t)fd >= rxwatch_nconns) {
		size_t n = rxwatch_nconns > 0 ? rxwatch_nconns : 1024;
		struct rxwatch_conn *grown;

		while (n <= (size_t)fd)
			n *= 2;
		if ((grown = reallocarray(rxwatch_conns, n,
		    sizeof(*grown))) == NULL)
			return -1;
		memset(grown + rxwatch_nconns, 0,
		    (n - rxwatch_nconns) * sizeof(*grown));
		rxwatch_conns = grown;
		rxwatch_nconns = n;
	}
	memset(&rxwatch_conns[fd], 0, sizeof(rxwatch_conns[fd]));
	rxscan_init(&rxwatch_conns[fd].scan);
	rxwatch_conns[fd].watched = 1;
	return 0;
}

int
rxwatch_head_ok(struct lws *wsi)
{
	struct rxwatch_conn *c = rxwatch_find(lws_get_socket_fd(wsi));

	return c != NULL && c->scan.phase == RXSCAN_FRAMES &&
	    !c->scan.past_head && lws_get_network_wsi(wsi) == wsi;
}

void
rxwatch_attach(struct lws *wsi)
{
	struct rxwatch_conn *c = rxwatch_find(lws_get_socket_fd(wsi));

	if (c != NULL)
		c->wsi = wsi;
}

void
rxwatch_detach(struct lws *wsi)
{
	struct rxwatch_conn *c = rxwatch_find(lws_get_socket_fd(wsi));

	if (c != NULL)
		c->wsi = NULL;
}

int
rxwatch_refused(struct lws *wsi)
{
	struct rxwatch_conn *c = rxwatch_find(lws_get_socket_fd(wsi));

	return c != NULL && c->refused;
}

/* How much of what fd holds makes its next line, up to len: the bytes up
 * to and with the first LF, or all there are. */
static size_t
rxwatch_line(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = recvfrom(fd, buf, len, flags | MSG_PEEK, NULL, NULL);
	const char *lf;

	if (n <= 0)
		return len;	/* the read itself says what happened */
	lf = memchr(buf, '\n', (size_t)n);
	return lf != NULL ? (size_t)(lf - (const char *)buf) + 1 : (size_t)n;
}

ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	struct rxwatch_conn *c = rxwatch_find(fd);
	ssize_t n;
	size_t keep;

	if (c == NULL || (flags & MSG_PEEK))
		return recvfrom(fd, buf, len, flags, NULL, NULL);
	if (c->scan.phase == RXSCAN_HEAD)
		len = rxwatch_line(fd, buf, len, flags);
	if ((n = recvfrom(fd, buf, len, flags, NULL, NULL)) <= 0)
		return n;
	keep = c->refused ? 0 : rxscan_feed(&c->scan, buf, (size_t)n);
	/* Before the handshake, lws gets it all: a byte past the head makes
	 * rxwatch_head_ok refuse the handshake. */
	if (keep == (size_t)n || c->wsi == NULL)
		return n;
	if (!c->refused) {
		c->refused = 1;
		lws_callback_on_writable(c->wsi);
	}
	if (keep > 0)
		return (ssize_t)keep;
	errno = EAGAIN;
	return -1;
}

/* A descriptor closed is no longer watched: its number is used again. */
int
close(int fd)
{
	struct rxwatch_conn *c = rxwatch_find(fd);

	if (c != NULL)
		memset(c, 0, sizeof(*c));
	return (int)syscall(SYS_close, fd);
}
