/*
 * Unit tests of push-daemon/rxwatch.c over socket pairs: the program's
 * recv() hands lws a request's head one line a read, then what a watched
 * connection sends up to its first unmasked frame, asks for the
 * writeable callback once, then hands nothing; a head the scanner did not
 * end where lws would is refused; close() forgets the descriptor. lws's
 * calls are stubs here, for one connection at a time.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "rxwatch.h"

#define HEAD	"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"

static struct lws *fake_wsi = (struct lws *)&fake_wsi;
static struct lws *network_wsi;
static int fake_fd = -1, writable_calls;

int
lws_callback_on_writable(struct lws *wsi)
{
	CHECK(wsi == fake_wsi);
	writable_calls++;
	return 1;
}

struct lws *
lws_get_network_wsi(struct lws *wsi)
{
	return network_wsi != NULL ? network_wsi : wsi;
}

lws_sockfd_type
lws_get_socket_fd(struct lws *wsi)
{
	CHECK(wsi == fake_wsi);
	return fake_fd;
}

/* A watched connection: sv[0] as lws's end, sv[1] as the client's. */
static void
connection(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	CHECK(rxwatch_open(sv[0]) == 0);
	fake_fd = sv[0];
	writable_calls = 0;
}

static void
send_all(int fd, const void *buf, size_t len)
{
	CHECK(send(fd, buf, len, 0) == (ssize_t)len);
}

/* What lws would read: line by line while in the head. */
static ssize_t
read_next(int fd, unsigned char *buf, size_t size)
{
	return recv(fd, buf, size, 0);
}

/* The head, read as lws reads it: each of its lines in a read of its
 * own, whatever came behind it. */
static void
read_head(int fd)
{
	unsigned char buf[256];

	CHECK(read_next(fd, buf, sizeof(buf)) == 18);	/* GET ... \r\n */
	CHECK(read_next(fd, buf, sizeof(buf)) == 20);	/* Upgrade ... */
	CHECK(read_next(fd, buf, sizeof(buf)) == 2);	/* \r\n */
}

/* A masked text frame of 3 bytes, and an unmasked one of 2. */
static const unsigned char masked[] = { 0x81, 0x83, 1, 2, 3, 4, 'a', 'b',
    'c' };
static const unsigned char bare[] = { 0x81, 0x02, 'h', 'i' };

static void
test_refused_after_the_handshake(void)
{
	unsigned char buf[256], all[sizeof(HEAD) + sizeof(masked) +
	    sizeof(bare)];
	size_t n = strlen(HEAD);
	int sv[2];

	connection(sv);
	memcpy(all, HEAD, n);
	memcpy(all + n, masked, sizeof(masked));
	memcpy(all + n + sizeof(masked), bare, sizeof(bare));
	send_all(sv[1], all, n + sizeof(masked) + sizeof(bare));
	read_head(sv[0]);
	CHECK(rxwatch_head_ok(fake_wsi));
	rxwatch_attach(fake_wsi);
	/* The masked frame only; lws is asked to write (the close). */
	CHECK(read_next(sv[0], buf, sizeof(buf)) == (ssize_t)sizeof(masked));
	CHECK(memcmp(buf, masked, sizeof(masked)) == 0);
	CHECK(writable_calls == 1);
	CHECK(rxwatch_refused(fake_wsi));
	/* More comes: none of it reaches lws, no second call. */
	send_all(sv[1], masked, sizeof(masked));
	errno = 0;
	CHECK(read_next(sv[0], buf, sizeof(buf)) == -1 && errno == EAGAIN);
	CHECK(writable_calls == 1);
	/* A peek is the caller's own business: untouched. */
	send_all(sv[1], "x", 1);
	CHECK(recv(sv[0], buf, 1, MSG_PEEK) == 1);
	/* Closed, the number is no longer watched. */
	CHECK(close(sv[0]) == 0);
	CHECK(!rxwatch_refused(fake_wsi));
	close(sv[1]);
}

/* A frame written with the handshake waits for it: the head is whole
 * where lws's is, and the frame is refused once the connection is up. */
static void
test_frame_sent_with_the_handshake(void)
{
	unsigned char buf[256], all[sizeof(HEAD) + sizeof(bare)];
	size_t n = strlen(HEAD);
	int sv[2];

	connection(sv);
	memcpy(all, HEAD, n);
	memcpy(all + n, bare, sizeof(bare));
	send_all(sv[1], all, n + sizeof(bare));
	read_head(sv[0]);
	CHECK(rxwatch_head_ok(fake_wsi));
	rxwatch_attach(fake_wsi);
	errno = 0;
	CHECK(read_next(sv[0], buf, sizeof(buf)) == -1 && errno == EAGAIN);
	CHECK(writable_calls == 1);
	CHECK(rxwatch_refused(fake_wsi));
	rxwatch_detach(fake_wsi);
	close(sv[0]);
	close(sv[1]);
}

/* Where the scanner and lws would not agree on the head's end, or the
 * connection is a stream of HTTP/2, the handshake is refused. */
static void
test_head_not_followed(void)
{
	static const char early[] = "GET / HTTP/1.1\r\nA: b\r\n\r\r\n";
	unsigned char buf[256];
	int sv[2];

	/* lws done, the scanner not: a head without its empty line. */
	connection(sv);
	send_all(sv[1], "GET /ws HTTP/1.1\r\n", 18);
	CHECK(read_next(sv[0], buf, sizeof(buf)) == 18);
	CHECK(!rxwatch_head_ok(fake_wsi));
	close(sv[0]);
	close(sv[1]);

	/* The scanner done, lws reading on: bytes past the head. */
	connection(sv);
	send_all(sv[1], early, strlen(early));
	send_all(sv[1], "X: y\r\n\r\n", 8);
	CHECK(read_next(sv[0], buf, sizeof(buf)) == 16);
	CHECK(read_next(sv[0], buf, sizeof(buf)) == 6);
	CHECK(read_next(sv[0], buf, sizeof(buf)) == 3);
	CHECK(read_next(sv[0], buf, sizeof(buf)) == 8);
	CHECK(!rxwatch_head_ok(fake_wsi));
	close(sv[0]);
	close(sv[1]);

	connection(sv);
	send_all(sv[1], HEAD, strlen(HEAD));
	read_head(sv[0]);
	network_wsi = (struct lws *)&network_wsi;
	CHECK(!rxwatch_head_ok(fake_wsi));
	network_wsi = NULL;
	CHECK(rxwatch_head_ok(fake_wsi));
	close(sv[0]);
	close(sv[1]);
}

/* A descriptor never watched (libpq's) is not touched at all. */
static void
test_unwatched_untouched(void)
{
	unsigned char buf[64];
	int sv[2];

	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	send_all(sv[1], HEAD, strlen(HEAD));
	CHECK(recv(sv[0], buf, sizeof(buf), 0) == (ssize_t)strlen(HEAD));
	send_all(sv[1], bare, sizeof(bare));
	CHECK(recv(sv[0], buf, sizeof(buf), 0) == (ssize_t)sizeof(bare));
	fake_fd = sv[0];
	CHECK(!rxwatch_refused(fake_wsi));
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	test_refused_after_the_handshake();
	test_frame_sent_with_the_handshake();
	test_head_not_followed();
	test_unwatched_untouched();
	return check_done("test_rxwatch");
}
