/*
 * The push daemon's metrics port: GET /metrics in the Prometheus text
 * format (docs/OPERATIONS.md, "Metrics"), on a second vhost of the
 * daemon's lws context, so that a scrape is served by the event loop
 * like a connection and never blocks it.
 */
#ifndef CHAT_SCRAPE_H
#define CHAT_SCRAPE_H

#include <stdint.h>

#include <libwebsockets.h>

/*
 * Listens on address and port (options: the lws server options of the
 * address, as the daemon's own listener has them). Returns 0, or -1
 * when it cannot.
 */
int	scrape_listen(struct lws_context *ctx, const char *address, int port,
	    uint64_t options);

#endif
