#include <strings.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "detail.h"
#include "token.h"
#include "token_cache.h"

static struct db_stmt auth_active_stmt = DB_STMT("auth_active", 1,
    "SELECT is_active FROM account WHERE account_id = $1");

int
auth_account_active(struct request *rq, struct reply *rp,
    const char *account_id, int gone_status, const char *gone_detail)
{
	const char *params[] = { account_id };
	PGresult *res;
	enum db_status st;
	int rc = -1;

	st = db_run(&rq->app->db, &auth_active_stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (PQntuples(res) == 0)
		reply_error(rp, gone_status, gone_detail);
	else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
		reply_error(rp, 403, DETAIL_INACTIVE);
	else
		rc = 0;
	PQclear(res);
	return rc;
}

/* The token of an "Authorization: Bearer" header; NULL without one. */
static const char *
auth_header_token(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return *h != '\0' ? h : NULL;
}

int
auth_token(struct request *rq, struct reply *rp)
{
	const struct config *cfg = &rq->app->cfg;
	const char *h = auth_header_token(rq->authorization);
	long now = (long)time(NULL), exp;

	if (h == NULL) {
		reply_error(rp, 401, "Not authenticated");
		return -1;
	}
	if (token_cache_find(h, now, rq->account_id) == 0)
		return 0;
	if (token_verify(cfg->jwt_secret, cfg->jwt_secret_len, h, TOKEN_ACCESS,
	    now, rq->account_id, &exp) == -1) {
		reply_error(rp, 401, DETAIL_BAD_CREDENTIALS);
		return -1;
	}
	token_cache_put(h, exp, rq->account_id);
	return 0;
}

int
auth_account(struct request *rq, struct reply *rp)
{
	return auth_account_active(rq, rp, rq->account_id, 401,
	    DETAIL_BAD_CREDENTIALS);
}

int
auth_bearer(struct request *rq, struct reply *rp)
{
	if (auth_token(rq, rp) == -1)
		return -1;
	return auth_account(rq, rp);
}
