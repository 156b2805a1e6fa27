/* Chat over REST (CONTRACT §5). */
#ifndef CHAT_CHAT_H
#define CHAT_CHAT_H

#include "reply.h"
#include "request.h"

void	chat_send(struct request *rq, struct reply *rp);
void	chat_history(struct request *rq, struct reply *rp);
void	chat_search(struct request *rq, struct reply *rp);
void	chat_mark_read(struct request *rq, struct reply *rp);
void	chat_delete(struct request *rq, struct reply *rp);
void	chat_unread_count(struct request *rq, struct reply *rp);
void	chat_sync(struct request *rq, struct reply *rp);
void	chat_online_friends(struct request *rq, struct reply *rp);

#endif
