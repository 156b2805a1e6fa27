#include <string.h>

#include "hub.h"
#include "metrics.h"
#include "promtext.h"
#include "scrape.h"

#define SCRAPE_PATH	"/metrics"
/* Written to the socket at most this much at a time. */
#define SCRAPE_CHUNK	8192

/* One scrape: its text, made at once from memory, and how much went out. */
struct scrape_conn {
	struct promtext	 text;
	size_t		 sent;
};

struct scrape_queues {
	uint64_t	 bytes, largest;
};

static void
scrape_queue(struct session *s, void *arg)
{
	struct scrape_queues *q = arg;

	q->bytes += s->queued_bytes;
	if (s->queued_bytes > q->largest)
		q->largest = s->queued_bytes;
}

/* The gauges, read from the hub now. */
static void
scrape_gauges(struct hub *hub, struct promtext *pt)
{
	const char *info[] = { "version", PACKAGE_VERSION, "node",
	    hub->node_id, NULL };
	struct pg *const pgs[] = { hub->pg, hub->pg_events, hub->pg_marks };
	struct scrape_queues q = { 0, 0 };

	promtext_family(pt, "chat_push_info", "gauge",
	    "The daemon's version and node id (always 1).");
	promtext_count(pt, "chat_push_info", info, 1);

	promtext_family(pt, "chat_push_connections", "gauge",
	    "WebSocket connections open (past the handshake, not yet "
	    "closed).");
	promtext_count(pt, "chat_push_connections", NULL, hub->sessions.count);

	hub_each(hub, scrape_queue, &q);
	promtext_family(pt, "chat_push_queued_bytes", "gauge",
	    "Bytes of frames waiting for connections to read them (those "
	    "counted against push.max_queue_bytes).");
	promtext_count(pt, "chat_push_queued_bytes", NULL, q.bytes);
	promtext_family(pt, "chat_push_queued_bytes_largest", "gauge",
	    "The longest outgoing queue of one connection, in bytes "
	    "(closed with 1008 past push.max_queue_bytes).");
	promtext_count(pt, "chat_push_queued_bytes_largest", NULL, q.largest);

	promtext_family(pt, "chat_push_database_connected", "gauge",
	    "Whether each database connection is up (1) or being made "
	    "again (0).");
	for (size_t i = 0; i < sizeof(pgs) / sizeof(pgs[0]); i++) {
		const char *labels[] = { "connection", pg_name(pgs[i]), NULL };

		promtext_count(pt, "chat_push_database_connected", labels,
		    (uint64_t)pg_connected(pgs[i]));
	}
	promtext_family(pt, "chat_push_database_queries_queued", "gauge",
	    "Statements waiting on each database connection (the one in "
	    "flight too).");
	for (size_t i = 0; i < sizeof(pgs) / sizeof(pgs[0]); i++) {
		const char *labels[] = { "connection", pg_name(pgs[i]), NULL };

		promtext_count(pt, "chat_push_database_queries_queued", labels,
		    (uint64_t)pg_queued(pgs[i]));
	}
}

/* A status without a body, and the end of the transaction. */
static int
scrape_status(struct lws *wsi, unsigned int status)
{
	if (lws_return_http_status(wsi, status, NULL) != 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
scrape_request(struct lws *wsi, struct scrape_conn *c, const char *path)
{
	struct hub *hub = lws_context_user(lws_get_context(wsi));
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf);

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		return scrape_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED);
	if (strcmp(path, SCRAPE_PATH) != 0)
		return scrape_status(wsi, HTTP_STATUS_NOT_FOUND);
	promtext_free(&c->text);
	c->sent = 0;
	scrape_gauges(hub, &c->text);
	metrics_write(&c->text);
	if (c->text.failed || c->text.len == 0) {
		promtext_free(&c->text);
		return scrape_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR);
	}
	if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK,
	    PROMTEXT_CONTENT_TYPE, c->text.len, &p, end) != 0 ||
	    lws_finalize_write_http_header(wsi, start, &p, end) != 0)
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int
scrape_write(struct lws *wsi, struct scrape_conn *c)
{
	unsigned char buf[LWS_PRE + SCRAPE_CHUNK];
	size_t n;
	int last;

	if (c->text.buf == NULL)
		return 0;
	n = c->text.len - c->sent;
	if (n > SCRAPE_CHUNK)
		n = SCRAPE_CHUNK;
	last = c->sent + n == c->text.len;
	memcpy(buf + LWS_PRE, c->text.buf + c->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL :
	    LWS_WRITE_HTTP) != (int)n)
		return -1;
	c->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	promtext_free(&c->text);
	c->sent = 0;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int
scrape_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct scrape_conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return scrape_request(wsi, c, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return scrape_write(wsi, c);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c != NULL)
			promtext_free(&c->text);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols scrape_protocols[] = {
	{ "chat-metrics", scrape_callback, sizeof(struct scrape_conn), 0, 0,
	    NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

int
scrape_listen(struct lws_context *ctx, const char *address, int port,
    uint64_t options)
{
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	info.vhost_name = "metrics";
	info.port = port;
	info.iface = address;
	info.protocols = scrape_protocols;
	info.options = options;
	return lws_create_vhost(ctx, &info) != NULL ? 0 : -1;
}
