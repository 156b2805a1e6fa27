/* Bearer authentication of API requests. */
#ifndef CHAT_AUTH_H
#define CHAT_AUTH_H

#include "app.h"
#include "reply.h"
#include "request.h"
#include "token.h"

/*
 * Reads the secret files again if they changed (chatctl secret rotate),
 * forgetting the tokens verified with the secrets before. Returns 1 when
 * the secrets changed, else 0. main.c calls it once a second at most.
 */
int	auth_secrets_reload(struct app *app);

/*
 * token_verify_either() with the process's secrets. When the token fails
 * and the secret files changed meanwhile, they are read again and the
 * token tried again: a token signed with a new secret by a process that
 * took it first is never refused by one that has not yet.
 */
int	auth_token_verify(struct app *app, const char *token,
	    enum token_type type, char sub[UUID_TEXT_SIZE], long *exp);

/*
 * Authenticates rq by its Authorization header. Returns 0 with
 * rq->account_id set, or -1 with the 401/403/503 answer in rp.
 */
int	auth_bearer(struct request *rq, struct reply *rp);

/*
 * auth_bearer() without the account's look-up, for a route whose
 * statement checks the account itself: 0 with rq->account_id set when the
 * token is valid, else -1 with the 401 in rp.
 */
int	auth_token(struct request *rq, struct reply *rp);

/*
 * The look-up auth_token() left out: 0 when the account exists and is
 * active, else -1 with the answer of auth_bearer() in rp.
 */
int	auth_account(struct request *rq, struct reply *rp);

/*
 * Looks up whether account_id may act: 0 when it exists and is active,
 * -1 with the answer in rp otherwise (gone_status and gone_detail for an
 * account that no longer exists).
 */
int	auth_account_active(struct request *rq, struct reply *rp,
	    const char *account_id, int gone_status, const char *gone_detail);

#endif
