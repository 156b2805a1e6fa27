/* Friends (CONTRACT §4). */
#ifndef CHAT_FRIENDS_H
#define CHAT_FRIENDS_H

#include "reply.h"
#include "request.h"

void	friends_request(struct request *rq, struct reply *rp);
void	friends_accept(struct request *rq, struct reply *rp);
void	friends_reject(struct request *rq, struct reply *rp);
void	friends_list(struct request *rq, struct reply *rp);
void	friends_pending(struct request *rq, struct reply *rp);
void	friends_status(struct request *rq, struct reply *rp);
void	friends_remove(struct request *rq, struct reply *rp);

#endif
