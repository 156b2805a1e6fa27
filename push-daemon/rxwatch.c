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
rxwatch_attach(int fd, struct lws *wsi)
{
	struct rxwatch_conn *c = rxwatch_find(fd);

	if (c == NULL)
		return 0;
	c->wsi = wsi;
	if (c->scan.phase == RXSCAN_UNMASKED)
		c->refused = 1;
	return c->refused ? -1 : 0;
}

void
rxwatch_detach(int fd)
{
	struct rxwatch_conn *c = rxwatch_find(fd);

	if (c != NULL)
		c->wsi = NULL;
}

int
rxwatch_refused(int fd)
{
	struct rxwatch_conn *c = rxwatch_find(fd);

	return c != NULL && c->refused;
}

/*
 * Before its handshake is through, a connection gets all it sent (lws
 * answers the handshake, then rxwatch_attach refuses it); once
 * established, only the bytes before an unmasked frame.
 */
ssize_t
recv(int fd, void *buf, size_t len, int flags)
{
	ssize_t n = recvfrom(fd, buf, len, flags, NULL, NULL);
	struct rxwatch_conn *c;
	size_t keep;

	if (n <= 0 || (flags & MSG_PEEK) || (c = rxwatch_find(fd)) == NULL)
		return n;
	keep = rxscan_feed(&c->scan, buf, (size_t)n);
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
