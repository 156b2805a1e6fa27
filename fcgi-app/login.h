/* Login and token refresh (CONTRACT §3). */
#ifndef CHAT_LOGIN_H
#define CHAT_LOGIN_H

#include "reply.h"
#include "request.h"

/* POST /auth/access-token: form or JSON username and password. */
void	login_access_token(struct request *rq, struct reply *rp);
/* POST /auth/refresh-token: {refresh_token}. */
void	login_refresh_token(struct request *rq, struct reply *rp);

#endif
