/*
 * wsload: a WebSocket load generator for the push daemon, on plain epoll
 * sockets (one process holds thousands of connections).
 *
 *   wsload -f accounts.txt -h 127.0.0.1 -p PORT[,PORT...] [-b 127.0.0.2,...]
 *          [-m idle|pairs] [-r messages/s] [-d seconds] [-c connects/s]
 *
 * accounts.txt has one line per connection: "account-id token peer-id".
 * Mode idle opens every connection and holds it for -d seconds. Mode pairs
 * also sends, at -r messages per second in all, from each connection to its
 * peer, a content carrying the send time; the receiving connection reads it
 * back and records the latency. At the end one JSON object is printed with
 * the connection and latency figures. Connections are spread over the ports
 * and source addresses given, round robin.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WS_PATH		"/api/v1/chat/ws/chat"
#define MAX_ADDRS	16
#define RX_CAP		(256 * 1024)
#define MAX_SAMPLES	(4 * 1024 * 1024)

enum conn_state {
	CONN_NEW,
	CONN_CONNECTING,
	CONN_HANDSHAKE,
	CONN_OPEN,
	CONN_CLOSED,
};

struct conn {
	int		 fd;
	enum conn_state	 state;
	char		*account;
	char		*token;
	char		*peer;
	char		*rx;
	size_t		 rx_len, rx_cap;
	char		*tx;
	size_t		 tx_len, tx_off, tx_cap;
	uint64_t	 started_ns;
	uint64_t	 seq;
};

static struct {
	struct conn	*conns;
	size_t		 nconns;
	int		 ep;
	const char	*host;
	int		 ports[MAX_ADDRS];
	int		 nports;
	struct in_addr	 binds[MAX_ADDRS];
	int		 nbinds;
	int		 pairs;
	double		 rate;
	double		 seconds;
	double		 connect_rate;

	size_t		 opened, failed, closed_by_server;
	uint64_t	 first_open_ns, last_open_ns;
	uint64_t	 sent, acked, received, errors;
	uint64_t	*latency_us;
	size_t		 nlatency;
} w;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
load_accounts(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	size_t cap = 1024;

	if (f == NULL)
		die(path);
	w.conns = calloc(cap, sizeof(*w.conns));
	while (fgets(line, sizeof(line), f) != NULL) {
		char *rest = line;
		char *account = strsep(&rest, " \n");
		char *token = rest != NULL ? strsep(&rest, " \n") : NULL;
		char *peer = rest != NULL ? strsep(&rest, " \n") : NULL;
		struct conn *c;

		if (peer != NULL && *peer == '\0')
			peer = NULL;

		if (account == NULL || token == NULL)
			continue;
		if (w.nconns == cap) {
			cap *= 2;
			w.conns = realloc(w.conns, cap * sizeof(*w.conns));
			if (w.conns == NULL)
				die("realloc");
		}
		c = &w.conns[w.nconns++];
		memset(c, 0, sizeof(*c));
		c->fd = -1;
		c->account = strdup(account);
		c->token = strdup(token);
		c->peer = peer != NULL ? strdup(peer) : NULL;
	}
	fclose(f);
}

static void
tx_append(struct conn *c, const void *data, size_t len)
{
	if (c->tx_len + len > c->tx_cap) {
		c->tx_cap = (c->tx_len + len) * 2;
		c->tx = realloc(c->tx, c->tx_cap);
		if (c->tx == NULL)
			die("realloc");
	}
	memcpy(c->tx + c->tx_len, data, len);
	c->tx_len += len;
}

static void
watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(w.ep, op, c->fd, &ev) == -1 && op != EPOLL_CTL_DEL)
		die("epoll_ctl");
}

static void
flush_tx(struct conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
		    MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN)
				break;
			return;
		}
		c->tx_off += (size_t)n;
	}
	if (c->tx_off == c->tx_len)
		c->tx_off = c->tx_len = 0;
	watch(c, EPOLLIN | (c->tx_len > 0 ? EPOLLOUT : 0), EPOLL_CTL_MOD);
}

/* A client frame: FIN, text or pong, masked with a fixed key. */
static void
send_frame(struct conn *c, int opcode, const char *data, size_t len)
{
	unsigned char hdr[14];
	size_t h = 0;
	static const unsigned char key[4] = { 0x12, 0x34, 0x56, 0x78 };
	char *masked = malloc(len + 1);

	hdr[h++] = (unsigned char)(0x80 | opcode);
	if (len < 126)
		hdr[h++] = (unsigned char)(0x80 | len);
	else if (len < 65536) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(len >> 8);
		hdr[h++] = (unsigned char)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(hdr + h, key, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		masked[i] = (char)(data[i] ^ key[i % 4]);
	tx_append(c, hdr, h);
	tx_append(c, masked, len);
	free(masked);
	flush_tx(c);
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		watch(c, 0, EPOLL_CTL_DEL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->state == CONN_OPEN)
		w.closed_by_server++;
	else if (c->state != CONN_CLOSED)
		w.failed++;
	c->state = CONN_CLOSED;
}

static void
conn_start(struct conn *c, size_t index)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		w.failed++;
		c->state = CONN_CLOSED;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (w.nbinds > 0) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr = w.binds[index % (size_t)w.nbinds];
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			conn_close(c);
			return;
		}
	}
	sa.sin_port = htons((uint16_t)w.ports[index % (size_t)w.nports]);
	inet_pton(AF_INET, w.host, &sa.sin_addr);
	c->started_ns = now_ns();
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
	    errno != EINPROGRESS) {
		conn_close(c);
		return;
	}
	c->state = CONN_CONNECTING;
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void
conn_handshake(struct conn *c)
{
	char req[8192];
	int n = snprintf(req, sizeof(req), "GET " WS_PATH "?token=%s HTTP/1.1\r\n"
	    "Host: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", c->token, w.host);

	c->state = CONN_HANDSHAKE;
	tx_append(c, req, (size_t)n);
	flush_tx(c);
}

/* Looks at one server frame (JSON text): acks, arrivals, errors. */
static void
on_text(struct conn *c, const char *text, size_t len)
{
	const char *mark;

	(void)c;
	if (len > 20 && memmem(text, len, "\"message_sent\"", 14) != NULL)
		w.acked++;
	else if (memmem(text, len, "\"new_message\"", 13) != NULL &&
	    (mark = memmem(text, len, "bench:", 6)) != NULL) {
		unsigned long long sent_ns = strtoull(mark + 6, NULL, 10);
		uint64_t t = now_ns();

		w.received++;
		if (w.nlatency < MAX_SAMPLES && t > sent_ns)
			w.latency_us[w.nlatency++] = (t - sent_ns) / 1000;
	} else if (memmem(text, len, "\"error\"", 7) != NULL)
		w.errors++;
}

/* Parses the complete frames in rx; returns -1 when the server closed. */
static int
parse_frames(struct conn *c)
{
	size_t off = 0;

	while (c->rx_len - off >= 2) {
		unsigned char *p = (unsigned char *)c->rx + off;
		int opcode = p[0] & 0x0f;
		uint64_t len = p[1] & 0x7f;
		size_t h = 2;

		if (len == 126) {
			if (c->rx_len - off < 4)
				break;
			len = (uint64_t)p[2] << 8 | p[3];
			h = 4;
		} else if (len == 127) {
			if (c->rx_len - off < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			h = 10;
		}
		if (c->rx_len - off < h + len)
			break;
		if (opcode == 0x1)
			on_text(c, (char *)p + h, (size_t)len);
		else if (opcode == 0x9)
			send_frame(c, 0xA, (char *)p + h, (size_t)len);
		else if (opcode == 0x8)
			return -1;
		off += h + (size_t)len;
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return 0;
}

static void
on_handshake_reply(struct conn *c)
{
	char *end = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
	size_t used;

	if (end == NULL)
		return;
	if (c->rx_len < 12 || memcmp(c->rx + 9, "101", 3) != 0) {
		conn_close(c);
		return;
	}
	used = (size_t)(end + 4 - c->rx);
	memmove(c->rx, c->rx + used, c->rx_len - used);
	c->rx_len -= used;
	c->state = CONN_OPEN;
	w.opened++;
	w.last_open_ns = now_ns();
	if (w.first_open_ns == 0)
		w.first_open_ns = w.last_open_ns;
}

static void
on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rx_cap - c->rx_len < 4096) {
			c->rx_cap = c->rx_cap == 0 ? 8192 : c->rx_cap * 2;
			if (c->rx_cap > RX_CAP) {
				conn_close(c);
				return;
			}
			c->rx = realloc(c->rx, c->rx_cap);
		}
		n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN)) {
			conn_close(c);
			return;
		}
		if (n < 0)
			break;
		c->rx_len += (size_t)n;
	}
	if (c->state == CONN_HANDSHAKE)
		on_handshake_reply(c);
	if (c->state == CONN_OPEN && parse_frames(c) == -1)
		conn_close(c);
}

static void
on_event(struct conn *c, uint32_t events)
{
	if (c->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0) {
			conn_close(c);
			return;
		}
		conn_handshake(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP)) {
		on_readable(c);
		if (c->state != CONN_CLOSED)
			conn_close(c);
		return;
	}
	if (events & EPOLLOUT)
		flush_tx(c);
	if (events & EPOLLIN)
		on_readable(c);
}

static void
send_one(struct conn *c)
{
	char msg[512];
	int n;

	if (c->state != CONN_OPEN || c->peer == NULL)
		return;
	n = snprintf(msg, sizeof(msg), "{\"type\": \"send_message\", "
	    "\"receiver_id\": \"%s\", \"content\": \"bench:%llu:%llu\"}",
	    c->peer, (unsigned long long)now_ns(),
	    (unsigned long long)c->seq++);
	send_frame(c, 0x1, msg, (size_t)n);
	w.sent++;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
percentile(double p)
{
	size_t i;

	if (w.nlatency == 0)
		return -1;
	i = (size_t)(p * (double)(w.nlatency - 1));
	return (double)w.latency_us[i] / 1000.0;
}

static void
report(double elapsed)
{
	double connect_secs = (double)(w.last_open_ns - w.first_open_ns) / 1e9;

	qsort(w.latency_us, w.nlatency, sizeof(uint64_t), cmp_u64);
	printf("{\"connections\": %zu, \"opened\": %zu, \"failed\": %zu, "
	    "\"closed_by_server\": %zu, \"connects_per_s\": %.1f, "
	    "\"sent\": %llu, \"acked\": %llu, \"received\": %llu, "
	    "\"errors\": %llu, \"elapsed_s\": %.2f, \"latency_ms\": "
	    "{\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f}}\n",
	    w.nconns, w.opened, w.failed, w.closed_by_server,
	    connect_secs > 0 ? (double)w.opened / connect_secs : 0.0,
	    (unsigned long long)w.sent, (unsigned long long)w.acked,
	    (unsigned long long)w.received, (unsigned long long)w.errors,
	    elapsed, percentile(0.5), percentile(0.9), percentile(0.99),
	    percentile(1.0));
}

static void
parse_list(char *arg, int is_port)
{
	for (char *t; (t = strsep(&arg, ",")) != NULL;) {
		if (is_port && w.nports < MAX_ADDRS)
			w.ports[w.nports++] = (int)strtol(t, NULL, 10);
		else if (!is_port && w.nbinds < MAX_ADDRS &&
		    inet_pton(AF_INET, t, &w.binds[w.nbinds]) == 1)
			w.nbinds++;
	}
}

int
main(int argc, char *argv[])
{
	struct epoll_event events[512];
	const char *accounts = NULL;
	uint64_t start, end, next_send, next_connect;
	size_t to_start = 0, send_index = 0;
	int ch;

	w.host = "127.0.0.1";
	w.seconds = 10;
	w.connect_rate = 5000;
	while ((ch = getopt(argc, argv, "b:c:d:f:h:m:p:r:")) != -1) {
		switch (ch) {
		case 'b': parse_list(optarg, 0); break;
		case 'c': w.connect_rate = strtod(optarg, NULL); break;
		case 'd': w.seconds = strtod(optarg, NULL); break;
		case 'f': accounts = optarg; break;
		case 'h': w.host = optarg; break;
		case 'm': w.pairs = strcmp(optarg, "pairs") == 0; break;
		case 'p': parse_list(optarg, 1); break;
		case 'r': w.rate = strtod(optarg, NULL); break;
		default:
			fprintf(stderr, "usage: see the comment in wsload.c\n");
			return 2;
		}
	}
	if (accounts == NULL || w.nports == 0) {
		fprintf(stderr, "wsload: -f accounts and -p ports needed\n");
		return 2;
	}
	load_accounts(accounts);
	w.latency_us = malloc(MAX_SAMPLES * sizeof(uint64_t));
	if ((w.ep = epoll_create1(EPOLL_CLOEXEC)) == -1 || w.latency_us == NULL)
		die("setup");

	start = now_ns();
	next_connect = start;
	next_send = 0;
	/* Connect at the given rate, then (pairs) send at the given rate. */
	end = start + (uint64_t)(w.seconds * 1e9);
	for (;;) {
		uint64_t t = now_ns();
		int n;

		while (to_start < w.nconns && t >= next_connect) {
			conn_start(&w.conns[to_start], to_start);
			to_start++;
			next_connect += (uint64_t)(1e9 / w.connect_rate);
		}
		if (to_start == w.nconns && w.opened + w.failed >= w.nconns &&
		    next_send == 0) {
			next_send = t;
			end = t + (uint64_t)(w.seconds * 1e9);
		}
		if (w.pairs && next_send != 0 && w.rate > 0 && t < end) {
			while (t >= next_send) {
				send_one(&w.conns[send_index++ % w.nconns]);
				next_send += (uint64_t)(1e9 / w.rate);
			}
		}
		/* After the sends: two seconds for the last arrivals. */
		if (next_send != 0 && t > end + (w.pairs ? 2000000000ULL : 0))
			break;
		n = epoll_wait(w.ep, events, 512, 1);
		for (int i = 0; i < n; i++)
			on_event(events[i].data.ptr, events[i].events);
	}
	report((double)(now_ns() - start) / 1e9);
	return 0;
}
