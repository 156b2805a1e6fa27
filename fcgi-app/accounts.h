/* Accounts (CONTRACT §3): registration, the caller's own, lookup, search. */
#ifndef CHAT_ACCOUNTS_H
#define CHAT_ACCOUNTS_H

#include "reply.h"
#include "request.h"

void	accounts_register(struct request *rq, struct reply *rp);
void	accounts_me(struct request *rq, struct reply *rp);
void	accounts_get(struct request *rq, struct reply *rp);
void	accounts_search(struct request *rq, struct reply *rp);

#endif
