#include <strings.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "detail.h"
#include "log.h"
#include "token_cache.h"

static struct db_stmt auth_active_stmt = DB_STMT("auth_active", 1,
    "SELECT is_active FROM account WHERE account_id = $1");

int
auth_secrets_reload(struct app *app)
{
	char err[CONFIG_ERRLEN];

	switch (config_reload_secrets(&app->cfg, err, sizeof(err))) {
	case 1:
		token_cache_clear();
		log_info("secret files changed: the new secrets are in use%s",
		    app->cfg.jwt_previous_len > 0 ? " (and the previous one)" :
		    "");
		return 1;
	case -1:
		log_warnx("%s; the secrets read before stay in use", err);
		break;
	}
	return 0;
}

int
auth_token_verify(struct app *app, const char *token, enum token_type type,
    char sub[UUID_TEXT_SIZE], long *exp)
{
	const struct config *cfg = &app->cfg;
	long now = (long)time(NULL);

	if (token_verify_either(cfg->jwt_secret, cfg->jwt_secret_len,
	    cfg->jwt_previous, cfg->jwt_previous_len, token, type, now, sub,
	    exp) == 0)
		return 0;
	if (!auth_secrets_reload(app))
		return -1;
	return token_verify_either(cfg->jwt_secret, cfg->jwt_secret_len,
	    cfg->jwt_previous, cfg->jwt_previous_len, token, type, now, sub,
	    exp);
}

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
	const char *h = auth_header_token(rq->authorization);
	long now = (long)time(NULL), exp;

	if (h == NULL) {
		reply_error(rp, 401, "Not authenticated");
		return -1;
	}
	if (token_cache_find(h, now, rq->account_id) == 0)
		return 0;
	if (auth_token_verify(rq->app, h, TOKEN_ACCESS, rq->account_id,
	    &exp) == -1) {
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
