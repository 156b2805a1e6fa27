/*
 * The client's address (CONTRACT §12, docs/API.md "Client address"): the
 * peer's address, or, when the peer is a trusted proxy
 * (http.trusted_proxies), the X-Forwarded-For entry added by the last
 * hop that is not one. chat-fcgi applies it to REMOTE_ADDR for the limits
 * per address and its log lines; the push daemon to its peer for its log
 * lines.
 */
#ifndef CHAT_CLIENTADDR_H
#define CHAT_CLIENTADDR_H

#include <stddef.h>

#include <arpa/inet.h>

#define CLIENTADDR_SIZE	INET6_ADDRSTRLEN

/*
 * Writes the client's address to out (CLIENTADDR_SIZE bytes), "-" when
 * remote is NULL or not an address. trusted: the list of addresses and
 * networks, separated by spaces or commas; xff: X-Forwarded-For or NULL.
 */
void	clientaddr_get(const char *trusted, const char *remote,
	    const char *xff, char out[CLIENTADDR_SIZE]);

#endif
