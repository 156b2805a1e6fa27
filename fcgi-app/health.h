#ifndef CHAT_HEALTH_H
#define CHAT_HEALTH_H

#include "reply.h"
#include "request.h"

/* GET /health: whether the service and its database answer. */
void	health_get(struct request *rq, struct reply *rp);

#endif
