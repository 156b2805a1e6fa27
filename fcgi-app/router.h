/* The table of API routes, and the dispatch of a request to its handler. */
#ifndef CHAT_ROUTER_H
#define CHAT_ROUTER_H

#include "reply.h"
#include "request.h"

void	router_dispatch(struct request *rq, struct reply *rp);

#endif
