/*
 * wsload: a WebSocket load generator for the push daemon, on plain epoll
 * sockets (one process holds thousands of connections).
 *
 *   wsload -f accounts.txt -h 127.0.0.1 -p [ADDR:]PORT[,...] [-b 127.0.0.2,...]
 *          [-m idle|pairs|group|flood] [-r messages/s] [-d seconds]
 *          [-c connects/s] [-t connect-timeout-seconds] [-w settle-seconds]
 *          [-W]
 *
 * accounts.txt has one line per connection: "account-id token peer-id"
 * (mode group: "account-id token group-id").
 * Mode idle opens every connection and holds it for -d seconds. Mode pairs
 * also sends, at -r messages per second in all, from each connection to its
 * peer, a content carrying a run id and the send time; the receiving
 * connection reads it back and records the latency (latency_ms); the send
 * time is also the temp_id, so the message_sent gives the time to the
 * sender's acknowledgement (ack_ms). Messages of another run
 * (undelivered ones a daemon pushes at connect) carry another run id and
 * are not counted; nor are duplicates (a message received twice), which are
 * counted apart, as are messages that come back to the sender's own
 * connection (echoed) or reach another connection than the sender's peer
 * (misrouted). With -w the sends start that many seconds after the
 * connect phase, once the daemons have done the work of the connects;
 * with -W they start (after the -w seconds) only once wsload gets SIGUSR1,
 * so that the caller can wait for the daemons itself. At the end one JSON
 * object is printed on stdout with the connection and latency figures.
 *
 * Mode group sends send_group_message frames the same way, each from the
 * next connection to its group, with the same kind of content; the
 * message number is counted over the whole run. Each connection of the
 * group but the sender's (which gets message_sent: CONTRACT §11) must get
 * it once as group_message: "expected" counts the connections of the
 * sender's group open at the send, less the sender's; "lost" is expected
 * - received. latency_ms is over every delivery; for each message whose
 * deliveries all came, first_receiver_ms and last_receiver_ms are the
 * times from its send to its first and its last delivery. The run ends
 * GROUP_DRAIN_NS after the last send, or sooner once every delivery came.
 *
 * Connections are spread over the ports round robin, and over the source
 * addresses (-b) so that each (source, port) pair gets its share: one
 * source address reaches one port from at most ~28,000 client ports. A
 * port given as ADDR:PORT is on that IPv4 address instead of -h's (the
 * web servers of several hosts, say).
 *
 * Mode flood makes each connection a client that misbehaves (CONTRACT §12):
 * for -d seconds it writes send_message and typing frames to its peer, in
 * turn, as fast as its socket takes them (whatever is unsent stays under
 * FLOOD_TX_MAX), and reads what comes back; "limited" counts the error
 * frames of code 429. A connection the server closes (its outgoing queue
 * full of refusals: 1008) connects again at once ("reconnects").
 *
 * When the connect phase is over (every connection open or failed, or
 * -t seconds after the last connect started) wsload prints "ready opened=N
 * failed=N" on stderr. SIGTERM or SIGINT end the run early, with the report.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define WS_PATH		"/api/v1/chat/ws/chat"
#define MAX_ADDRS	16
#define RX_CAP		(256 * 1024)
#define MAX_SAMPLES	(4 * 1024 * 1024)
/* Mode flood: unsent bytes of a connection at most, and frames at a time. */
#define FLOOD_TX_MAX	(64 * 1024)
#define FLOOD_FRAMES	64
/* After the sends: this long for the last arrivals. */
#define DRAIN_NS	2000000000ULL
/* Mode group: as long at most, for the last of many receivers. */
#define GROUP_DRAIN_NS	10000000000ULL
/* Mode group: groups in one accounts file at most. */
#define MAX_GROUPS	4096

enum mode {
	MODE_IDLE,
	MODE_PAIRS,
	MODE_GROUP,
	MODE_FLOOD,
};

static const char *const mode_names[] = { "idle", "pairs", "group", "flood" };

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
	int		 group;		/* mode group: index in w.groups */
	char		*rx;
	size_t		 rx_len, rx_cap;
	char		*tx;
	size_t		 tx_len, tx_off, tx_cap;
	uint64_t	 started_ns;
	uint64_t	 seq;
};

/* The messages received, as (sender's index, sequence): finds duplicates. */
struct seen {
	uint64_t	*keys;		/* key + 1; 0 is a free slot */
	size_t		 n, cap;	/* cap: a power of two */
};

/* Latency samples in microseconds. */
struct samples {
	uint64_t	*us;
	size_t		 n, cap;
};

/* Mode group: a group of the accounts file, and its connections open. */
struct group {
	const char	*id;
	size_t		 open;
};

/* Mode group: a message sent, by its number. */
struct group_msg {
	uint64_t	 sent_ns, first_ns, last_ns;
	uint32_t	 expected, got;
};

static struct {
	struct conn	*conns;
	size_t		 nconns;
	int		 ep;
	const char	*host;
	int		 ports[MAX_ADDRS];
	struct in_addr	 port_addrs[MAX_ADDRS];	/* each port's address */
	int		 nports;
	struct in_addr	 binds[MAX_ADDRS];
	int		 nbinds;
	enum mode	 mode;
	int		 wait_signal;	/* -W */
	double		 rate;
	double		 seconds;
	double		 connect_rate;
	double		 connect_timeout;
	unsigned long long run_id;

	size_t		 opened, failed, refused, closed_by_server;
	uint64_t	 first_start_ns, first_open_ns, last_open_ns;
	uint64_t	 send_start_ns, send_end_ns;
	uint64_t	 sent, acked, received, foreign, errors;
	uint64_t	 duplicates, echoed, misrouted, limited, reconnects;
	struct samples	 latency, handshake, ack;
	struct seen	 seen;
	double		 settle;

	struct group	 groups[MAX_GROUPS];
	size_t		 ngroups;
	struct group_msg *msgs;
	size_t		 nmsgs, msgs_cap;
	uint64_t	 expected, last_delivery_ns;
} w;

static volatile sig_atomic_t stop_requested, go_requested;

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
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
on_go_signal(int sig)
{
	(void)sig;
	go_requested = 1;
}

/* Up to the hard limit: a process holds one descriptor per connection. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
samples_init(struct samples *s, size_t cap)
{
	s->cap = cap;
	s->n = 0;
	s->us = malloc(cap * sizeof(*s->us));
	if (s->us == NULL)
		die("malloc");
}

static void
samples_add(struct samples *s, uint64_t from_ns, uint64_t to_ns)
{
	if (s->n < s->cap && to_ns >= from_ns)
		s->us[s->n++] = (to_ns - from_ns) / 1000;
}

static uint64_t
seen_hash(uint64_t key)
{
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return key;
}

/* Adds key to the set; returns 0 if it was there already. */
static int
seen_add(struct seen *set, uint64_t key)
{
	size_t i;

	if (2 * (set->n + 1) > set->cap) {
		struct seen bigger = { .cap = set->cap ? set->cap * 2 : 65536 };

		bigger.keys = calloc(bigger.cap, sizeof(*bigger.keys));
		if (bigger.keys == NULL)
			die("calloc");
		for (size_t j = 0; j < set->cap; j++)
			if (set->keys[j] != 0)
				seen_add(&bigger, set->keys[j] - 1);
		free(set->keys);
		*set = bigger;
	}
	for (i = seen_hash(key) & (set->cap - 1); set->keys[i] != 0;
	    i = (i + 1) & (set->cap - 1))
		if (set->keys[i] == key + 1)
			return 0;
	set->keys[i] = key + 1;
	set->n++;
	return 1;
}

/* Mode group: the index of the group named id, added when new. */
static int
group_of(const char *id)
{
	size_t i;

	for (i = 0; i < w.ngroups; i++)
		if (strcmp(w.groups[i].id, id) == 0)
			return (int)i;
	if (w.ngroups == MAX_GROUPS) {
		fprintf(stderr, "wsload: more than %d groups\n", MAX_GROUPS);
		exit(2);
	}
	w.groups[w.ngroups].id = strdup(id);
	return (int)w.ngroups++;
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
	if (w.conns == NULL)
		die("calloc");
	while (fgets(line, sizeof(line), f) != NULL) {
		char *rest = line;
		char *account = strsep(&rest, " \n");
		char *token = rest != NULL ? strsep(&rest, " \n") : NULL;
		char *peer = rest != NULL ? strsep(&rest, " \n") : NULL;
		struct conn *c;

		if (peer != NULL && *peer == '\0')
			peer = NULL;

		if (account == NULL || token == NULL || *token == '\0')
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
		if (w.mode == MODE_GROUP && c->peer != NULL)
			c->group = group_of(c->peer);
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

static void conn_close(struct conn *c);

static void
flush_tx(struct conn *c)
{
	while (c->tx_off < c->tx_len) {
		ssize_t n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off,
		    MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_close(c);
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

	if (masked == NULL)
		die("malloc");
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
	if (c->state == CONN_CLOSED)
		return;
	if (c->fd >= 0) {
		watch(c, 0, EPOLL_CTL_DEL);
		close(c->fd);
	}
	c->fd = -1;
	if (c->state == CONN_OPEN) {
		w.closed_by_server++;
		if (w.mode == MODE_GROUP && c->peer != NULL)
			w.groups[c->group].open--;
	} else
		w.failed++;
	c->state = CONN_CLOSED;
	/* Buffers of a closed connection are of no more use. */
	free(c->rx);
	free(c->tx);
	c->rx = c->tx = NULL;
	c->rx_len = c->rx_cap = c->tx_len = c->tx_off = c->tx_cap = 0;
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
	c->state = CONN_CONNECTING;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (w.nbinds > 0) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		/*
		 * The port is chosen at connect(), for the whole 4-tuple:
		 * without this, bind() would reserve a client port of the
		 * source address for every destination at once.
		 */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		/* Consecutive connections go to the ports in turn; each
		 * round of ports moves to the next source address. */
		src.sin_addr = w.binds[(index / (size_t)w.nports) %
		    (size_t)w.nbinds];
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) == -1) {
			close(c->fd);
			c->fd = -1;
			w.failed++;
			c->state = CONN_CLOSED;
			return;
		}
	}
	sa.sin_port = htons((uint16_t)w.ports[index % (size_t)w.nports]);
	sa.sin_addr = w.port_addrs[index % (size_t)w.nports];
	c->started_ns = now_ns();
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		c->fd = -1;
		w.failed++;
		c->state = CONN_CLOSED;
		return;
	}
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

	if (n < 0 || (size_t)n >= sizeof(req)) {
		conn_close(c);
		return;
	}
	c->state = CONN_HANDSHAKE;
	tx_append(c, req, (size_t)n);
	flush_tx(c);
}

/*
 * The value of the frame's "type" key, copied into type (empty when there
 * is none). The daemon's frames are flat JSON objects whose "type" comes
 * before any content, so the first "type" key is the frame's.
 */
static void
frame_type(const char *text, size_t len, char *type, size_t size)
{
	const char *p = memmem(text, len, "\"type\"", 6);
	const char *end = text + len;
	size_t n = 0;

	type[0] = '\0';
	if (p == NULL)
		return;
	p += 6;
	while (p < end && (*p == ' ' || *p == ':'))
		p++;
	if (p >= end || *p != '"')
		return;
	for (p++; p < end && *p != '"' && n + 1 < size; p++)
		type[n++] = *p;
	type[n] = '\0';
}

/* What a message of this run carries in its content. */
struct stamp {
	unsigned long long sent_ns, sender, seq;
};

/*
 * The stamp "bench:RUN:SENT_NS:SENDER_INDEX:SEQ" of a message frame
 * into st; -1 when it has none, or one of another run (counted apart).
 */
static int
stamp_parse(const char *text, size_t len, struct stamp *st)
{
	const char *mark = memmem(text, len, "bench:", 6);
	unsigned long long run;
	char *p;

	if (mark == NULL)
		return -1;
	run = strtoull(mark + 6, &p, 10);
	if (run != w.run_id || *p != ':') {
		w.foreign++;
		return -1;
	}
	st->sent_ns = strtoull(p + 1, &p, 10);
	st->sender = *p == ':' ? strtoull(p + 1, &p, 10) : 0;
	st->seq = *p == ':' ? strtoull(p + 1, &p, 10) : 0;
	return 0;
}

/*
 * A new_message of this run. Counted once per (sender, sequence), and
 * only when it reached the sender's peer.
 */
static void
on_new_message(struct conn *c, const char *text, size_t len)
{
	struct stamp st;

	if (stamp_parse(text, len, &st) == -1)
		return;
	if (st.sender < w.nconns && c == &w.conns[st.sender]) {
		w.echoed++;	/* the sender's own connection */
		return;
	}
	if (st.sender >= w.nconns || w.conns[st.sender].peer == NULL ||
	    strcmp(w.conns[st.sender].peer, c->account) != 0) {
		w.misrouted++;
		return;
	}
	if (!seen_add(&w.seen, (uint64_t)st.sender << 32 |
	    (st.seq & 0xffffffffULL))) {
		w.duplicates++;
		return;
	}
	w.received++;
	samples_add(&w.latency, st.sent_ns, now_ns());
}

/*
 * A group_message of this run (mode group): its sequence is the message's
 * number. Counted once per (receiving connection, message), and only on a
 * connection of the sender's group.
 */
static void
on_group_message(struct conn *c, const char *text, size_t len)
{
	struct stamp st;
	struct group_msg *m;
	uint64_t now;

	if (stamp_parse(text, len, &st) == -1)
		return;
	if (st.sender < w.nconns && c == &w.conns[st.sender]) {
		w.echoed++;	/* the sending connection had message_sent */
		return;
	}
	if (st.sender >= w.nconns || st.seq >= w.nmsgs || c->peer == NULL ||
	    w.conns[st.sender].peer == NULL ||
	    w.conns[st.sender].group != c->group) {
		w.misrouted++;
		return;
	}
	if (!seen_add(&w.seen, (uint64_t)(c - w.conns) << 32 |
	    (st.seq & 0xffffffffULL))) {
		w.duplicates++;
		return;
	}
	now = now_ns();
	w.received++;
	w.last_delivery_ns = now;
	samples_add(&w.latency, st.sent_ns, now);
	m = &w.msgs[st.seq];
	if (m->got++ == 0)
		m->first_ns = now;
	m->last_ns = now;
}

/* A message_sent: its temp_id is the send time (ns). */
static void
on_ack(const char *text, size_t len)
{
	const char *mark = memmem(text, len, "\"temp_id\"", 9);

	w.acked++;
	if (mark == NULL)
		return;
	mark += 9;
	while (*mark == ' ' || *mark == ':' || *mark == '"')
		mark++;
	samples_add(&w.ack, strtoull(mark, NULL, 10), now_ns());
}

/* Looks at one server frame (JSON text): acks, arrivals, errors. */
static void
on_text(struct conn *c, const char *text, size_t len)
{
	char type[32];

	frame_type(text, len, type, sizeof(type));
	if (strcmp(type, "message_sent") == 0)
		on_ack(text, len);
	else if (strcmp(type, "new_message") == 0)
		on_new_message(c, text, len);
	else if (strcmp(type, "group_message") == 0)
		on_group_message(c, text, len);
	else if (strcmp(type, "error") == 0) {
		w.errors++;
		if (memmem(text, len, "\"code\":429", 10) != NULL ||
		    memmem(text, len, "\"code\": 429", 11) != NULL)
			w.limited++;
	}
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
		else if (opcode == 0x9) {
			send_frame(c, 0xA, (char *)p + h, (size_t)len);
			if (c->state == CONN_CLOSED)
				return -1;
		} else if (opcode == 0x8)
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
		w.refused++;
		conn_close(c);
		return;
	}
	used = (size_t)(end + 4 - c->rx);
	memmove(c->rx, c->rx + used, c->rx_len - used);
	c->rx_len -= used;
	c->state = CONN_OPEN;
	w.opened++;
	if (w.mode == MODE_GROUP && c->peer != NULL)
		w.groups[c->group].open++;
	w.last_open_ns = now_ns();
	if (w.first_open_ns == 0)
		w.first_open_ns = w.last_open_ns;
	samples_add(&w.handshake, c->started_ns, w.last_open_ns);
}

static void
on_readable(struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rx_cap - c->rx_len < 4096) {
			size_t cap = c->rx_cap == 0 ? 8192 : c->rx_cap * 2;

			if (cap > RX_CAP) {
				conn_close(c);
				return;
			}
			c->rx = realloc(c->rx, cap);
			if (c->rx == NULL)
				die("realloc");
			c->rx_cap = cap;
		}
		n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
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
	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			conn_close(c);
			return;
		}
		conn_handshake(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP)) {
		on_readable(c);
		conn_close(c);
		return;
	}
	if (events & EPOLLOUT)
		flush_tx(c);
	if ((events & EPOLLIN) && c->state != CONN_CLOSED)
		on_readable(c);
}

static void
send_one(size_t index)
{
	struct conn *c = &w.conns[index];
	char msg[512];
	uint64_t now = now_ns();
	int n;

	if (c->state != CONN_OPEN || c->peer == NULL)
		return;
	/* temp_id: the send time again, for the message_sent (ack_ms). */
	n = snprintf(msg, sizeof(msg), "{\"type\": \"send_message\", "
	    "\"receiver_id\": \"%s\", \"temp_id\": \"%llu\", "
	    "\"content\": \"bench:%llu:%llu:%zu:%llu\"}",
	    c->peer, (unsigned long long)now, w.run_id,
	    (unsigned long long)now, index, (unsigned long long)c->seq++);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	send_frame(c, 0x1, msg, (size_t)n);
	w.sent++;
}

/* Mode group: one message from connection index to its group. */
static void
send_group_one(size_t index)
{
	struct conn *c = &w.conns[index];
	struct group_msg *m;
	char msg[512];
	uint64_t now = now_ns();
	int n;

	if (c->state != CONN_OPEN || c->peer == NULL)
		return;
	if (w.nmsgs == w.msgs_cap) {
		w.msgs_cap = w.msgs_cap != 0 ? 2 * w.msgs_cap : 4096;
		w.msgs = realloc(w.msgs, w.msgs_cap * sizeof(*w.msgs));
		if (w.msgs == NULL)
			die("realloc");
	}
	n = snprintf(msg, sizeof(msg), "{\"type\": \"send_group_message\", "
	    "\"group_id\": \"%s\", \"temp_id\": \"%llu\", "
	    "\"content\": \"bench:%llu:%llu:%zu:%zu\"}",
	    c->peer, (unsigned long long)now, w.run_id,
	    (unsigned long long)now, index, w.nmsgs);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	/* Recorded before the frame leaves: its deliveries find it. */
	m = &w.msgs[w.nmsgs++];
	memset(m, 0, sizeof(*m));
	m->sent_ns = now;
	m->expected = (uint32_t)(w.groups[c->group].open - 1);
	w.expected += m->expected;
	send_frame(c, 0x1, msg, (size_t)n);
	w.sent++;
}

/* Mode flood: a run of frames, unless the socket is behind already. */
static void
flood_one(size_t index)
{
	struct conn *c = &w.conns[index];
	char msg[256];
	int n;

	if (c->state == CONN_CLOSED) {
		conn_start(c, index);
		w.reconnects++;
		return;
	}
	if (c->state != CONN_OPEN || c->peer == NULL ||
	    c->tx_len - c->tx_off > FLOOD_TX_MAX)
		return;
	for (int i = 0; i < FLOOD_FRAMES && c->state == CONN_OPEN; i++) {
		if (c->seq++ % 2 == 0)
			n = snprintf(msg, sizeof(msg), "{\"type\": "
			    "\"send_message\", \"receiver_id\": \"%s\", "
			    "\"content\": \"flood %llu\"}", c->peer,
			    (unsigned long long)c->seq);
		else
			n = snprintf(msg, sizeof(msg), "{\"type\": \"typing\", "
			    "\"receiver_id\": \"%s\", \"is_typing\": true}",
			    c->peer);
		if (n < 0 || (size_t)n >= sizeof(msg))
			return;
		send_frame(c, 0x1, msg, (size_t)n);
		w.sent++;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-quantile of sorted samples, in milliseconds; -1 without samples. */
static double
percentile(const struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return -1;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return (double)s->us[i] / 1000.0;
}

static void
print_percentiles(const char *name, struct samples *s, int last)
{
	qsort(s->us, s->n, sizeof(*s->us), cmp_u64);
	printf("\"%s\": {\"samples\": %zu, \"p50\": %.3f, \"p90\": %.3f, "
	    "\"p99\": %.3f, \"p999\": %.3f, \"max\": %.3f}%s", name, s->n,
	    percentile(s, 0.5), percentile(s, 0.9), percentile(s, 0.99),
	    percentile(s, 0.999), percentile(s, 1.0), last ? "" : ", ");
}

/*
 * Mode group: the figures of the messages, each with every delivery
 * expected of it, and of the deliveries.
 */
static void
report_group(void)
{
	struct samples first, last;
	size_t incomplete = 0;
	double delivery_secs = w.last_delivery_ns > w.send_start_ns ?
	    (double)(w.last_delivery_ns - w.send_start_ns) / 1e9 : 0.0;

	samples_init(&first, w.nmsgs + 1);
	samples_init(&last, w.nmsgs + 1);
	for (size_t i = 0; i < w.nmsgs; i++) {
		const struct group_msg *m = &w.msgs[i];

		if (m->got < m->expected)
			incomplete++;
		else if (m->expected > 0) {
			samples_add(&first, m->sent_ns, m->first_ns);
			samples_add(&last, m->sent_ns, m->last_ns);
		}
	}
	printf("\"groups\": %zu, \"expected\": %llu, "
	    "\"messages_incomplete\": %zu, \"delivery_s\": %.3f, "
	    "\"deliveries_per_s\": %.1f, ", w.ngroups,
	    (unsigned long long)w.expected, incomplete, delivery_secs,
	    delivery_secs > 0 ? (double)w.received / delivery_secs : 0.0);
	print_percentiles("first_receiver_ms", &first, 0);
	print_percentiles("last_receiver_ms", &last, 0);
	free(first.us);
	free(last.us);
}

static void
report(double elapsed)
{
	double connect_secs = w.first_start_ns != 0 && w.last_open_ns != 0 ?
	    (double)(w.last_open_ns - w.first_start_ns) / 1e9 : 0.0;
	double send_secs = w.send_end_ns > w.send_start_ns ?
	    (double)(w.send_end_ns - w.send_start_ns) / 1e9 : 0.0;
	int sends = w.mode == MODE_PAIRS || w.mode == MODE_GROUP;
	uint64_t due = w.mode == MODE_GROUP ? w.expected : w.sent;
	size_t open_at_end = 0;

	for (size_t i = 0; i < w.nconns; i++)
		if (w.conns[i].state == CONN_OPEN)
			open_at_end++;
	printf("{\"mode\": \"%s\", \"connections\": %zu, \"opened\": %zu, "
	    "\"failed\": %zu, \"refused\": %zu, \"closed_by_server\": %zu, "
	    "\"open_at_end\": %zu, \"connect_s\": %.3f, "
	    "\"connects_per_s\": %.1f, ", mode_names[w.mode],
	    w.nconns, w.opened, w.failed, w.refused, w.closed_by_server,
	    open_at_end, connect_secs,
	    connect_secs > 0 ? (double)w.opened / connect_secs : 0.0);
	printf("\"rate_asked\": %.1f, \"send_s\": %.3f, \"send_rate\": %.1f, "
	    "\"sent\": %llu, \"acked\": %llu, \"received\": %llu, "
	    "\"lost\": %lld, \"duplicates\": %llu, \"echoed\": %llu, "
	    "\"misrouted\": %llu, "
	    "\"foreign\": %llu, \"errors\": %llu, \"limited\": %llu, "
	    "\"reconnects\": %llu, "
	    "\"elapsed_s\": %.2f, ", sends ? w.rate : 0.0, send_secs,
	    send_secs > 0 ? (double)w.sent / send_secs : 0.0,
	    (unsigned long long)w.sent, (unsigned long long)w.acked,
	    (unsigned long long)w.received,
	    (long long)due - (long long)w.received,
	    (unsigned long long)w.duplicates, (unsigned long long)w.echoed,
	    (unsigned long long)w.misrouted,
	    (unsigned long long)w.foreign, (unsigned long long)w.errors,
	    (unsigned long long)w.limited, (unsigned long long)w.reconnects,
	    elapsed);
	if (w.mode == MODE_GROUP)
		report_group();
	print_percentiles("handshake_ms", &w.handshake, 0);
	print_percentiles("ack_ms", &w.ack, 0);
	print_percentiles("latency_ms", &w.latency, 1);
	printf("}\n");
	fflush(stdout);
}

static void
parse_list(char *arg, int is_port)
{
	for (char *t; (t = strsep(&arg, ",")) != NULL;) {
		if (*t == '\0')
			continue;
		if (is_port && w.nports < MAX_ADDRS) {
			char *colon = strrchr(t, ':');

			/* Without an address: -h's (main() fills it in). */
			w.port_addrs[w.nports].s_addr = 0;
			if (colon != NULL) {
				*colon = '\0';
				if (inet_pton(AF_INET, t,
				    &w.port_addrs[w.nports]) != 1) {
					fprintf(stderr, "wsload: -p: %s is no "
					    "IPv4 address\n", t);
					exit(2);
				}
				t = colon + 1;
			}
			w.ports[w.nports++] = (int)strtol(t, NULL, 10);
		} else if (!is_port && w.nbinds < MAX_ADDRS &&
		    inet_pton(AF_INET, t, &w.binds[w.nbinds]) == 1)
			w.nbinds++;
	}
}

/* -m NAME into w.mode; -1 for a name of no mode. */
static int
parse_mode(const char *name)
{
	for (size_t i = 0; i < sizeof(mode_names) / sizeof(*mode_names); i++)
		if (strcmp(name, mode_names[i]) == 0) {
			w.mode = (enum mode)i;
			return 0;
		}
	return -1;
}

int
main(int argc, char *argv[])
{
	struct epoll_event events[512];
	struct sigaction sa;
	const char *accounts = NULL;
	struct in_addr host_addr;
	uint64_t start, end = 0, next_send = 0, next_connect, drain;
	uint64_t last_start_ns = 0, ready_ns = 0, go_ns = 0;
	size_t to_start = 0, send_index = 0;
	int ch;

	w.host = "127.0.0.1";
	w.seconds = 10;
	w.connect_rate = 5000;
	w.connect_timeout = 30;
	while ((ch = getopt(argc, argv, "b:c:d:f:h:m:p:r:t:w:W")) != -1) {
		switch (ch) {
		case 'b': parse_list(optarg, 0); break;
		case 'c': w.connect_rate = strtod(optarg, NULL); break;
		case 'd': w.seconds = strtod(optarg, NULL); break;
		case 'f': accounts = optarg; break;
		case 'h': w.host = optarg; break;
		case 'm':
			if (parse_mode(optarg) == -1) {
				fprintf(stderr, "wsload: unknown mode %s\n",
				    optarg);
				return 2;
			}
			break;
		case 'p': parse_list(optarg, 1); break;
		case 'r': w.rate = strtod(optarg, NULL); break;
		case 't': w.connect_timeout = strtod(optarg, NULL); break;
		case 'w': w.settle = strtod(optarg, NULL); break;
		case 'W': w.wait_signal = 1; break;
		default:
			fprintf(stderr, "usage: see the comment in wsload.c\n");
			return 2;
		}
	}
	if (inet_pton(AF_INET, w.host, &host_addr) != 1) {
		fprintf(stderr, "wsload: -h %s is no IPv4 address\n", w.host);
		return 2;
	}
	for (int i = 0; i < w.nports; i++)
		if (w.port_addrs[i].s_addr == 0)
			w.port_addrs[i] = host_addr;
	if (accounts == NULL || w.nports == 0 || w.connect_rate <= 0) {
		fprintf(stderr, "wsload: -f accounts and -p ports needed\n");
		return 2;
	}
	raise_fd_limit();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_go_signal;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	load_accounts(accounts);
	samples_init(&w.latency, MAX_SAMPLES);
	samples_init(&w.ack, MAX_SAMPLES);
	samples_init(&w.handshake, w.nconns + 1);
	if ((w.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");

	start = now_ns();
	/* Tells this run's messages from those of earlier runs. */
	w.run_id = (start ^ ((unsigned long long)getpid() << 32)) % 1000000000ULL;
	next_connect = start;
	w.first_start_ns = start;
	drain = w.mode == MODE_GROUP ? GROUP_DRAIN_NS :
	    w.mode == MODE_PAIRS ? DRAIN_NS : 0;
	/* Connect at the given rate, then hold (idle) or send. */
	while (!stop_requested) {
		uint64_t t = now_ns();
		int n;

		while (to_start < w.nconns && t >= next_connect) {
			conn_start(&w.conns[to_start], to_start);
			to_start++;
			next_connect += (uint64_t)(1e9 / w.connect_rate);
			last_start_ns = t;
		}
		if (ready_ns == 0 && to_start == w.nconns &&
		    (w.opened + w.failed >= w.nconns ||
		    t > last_start_ns + (uint64_t)(w.connect_timeout * 1e9))) {
			ready_ns = t;
			fprintf(stderr, "ready opened=%zu failed=%zu\n",
			    w.opened, w.failed);
		}
		if (ready_ns != 0 && go_ns == 0 &&
		    (!w.wait_signal || go_requested)) {
			go_ns = t;
			next_send = t + (uint64_t)(w.settle * 1e9);
			end = next_send + (uint64_t)(w.seconds * 1e9);
			w.send_start_ns = next_send;
		}
		if ((w.mode == MODE_PAIRS || w.mode == MODE_GROUP) &&
		    go_ns != 0 && w.rate > 0 && t >= next_send && t < end) {
			while (t >= next_send) {
				if (w.mode == MODE_GROUP)
					send_group_one(send_index++ % w.nconns);
				else
					send_one(send_index++ % w.nconns);
				next_send += (uint64_t)(1e9 / w.rate);
			}
			w.send_end_ns = t;
		}
		if (w.mode == MODE_FLOOD && go_ns != 0 && t >= next_send &&
		    t < end) {
			for (size_t i = 0; i < w.nconns; i++)
				flood_one(i);
			w.send_end_ns = t;
		}
		if (go_ns != 0 && (t > end + drain || (w.mode == MODE_GROUP &&
		    t >= end && w.received >= w.expected)))
			break;
		n = epoll_wait(w.ep, events, 512, 1);
		for (int i = 0; i < n; i++)
			on_event(events[i].data.ptr, events[i].events);
	}
	report((double)(now_ns() - start) / 1e9);
	return 0;
}
