/* The table of API routes, and the dispatch of a request to its handler. */
#ifndef CHAT_ROUTER_H
#define CHAT_ROUTER_H

#include <stddef.h>

#include "reply.h"
#include "request.h"

void	router_dispatch(struct request *rq, struct reply *rp);

/* The routes of the table, for the metrics: how many, and route i's
 * method and path (below /api/v1, "*" for a parameter). */
size_t	router_count(void);
void	router_route_name(size_t i, const char **method, const char **path);

#endif
