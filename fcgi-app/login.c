#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "auth.h"
#include "detail.h"
#include "fields.h"
#include "json_input.h"
#include "log.h"
#include "login.h"
#include "password.h"
#include "token.h"

/* Bounds of the login fields: generous, as they only look accounts up. */
#define LOGIN_NAME_MAX		254
#define LOGIN_PASSWORD_MAX	128
/* A refresh token that is not valid, or whose account is gone: 401. */
#define LOGIN_BAD_REFRESH	"Invalid refresh token"

/*
 * The account named, and the lockout of CONTRACT §12: columns account_id,
 * password_hash, is_active (NULLs when none), who (the key of its failed
 * logins), refusal (the 429 body while locked, else NULL).
 */
static struct db_stmt login_lookup_stmt = DB_STMT("login_lookup", 3,
    "SELECT * FROM api_login_lookup($1, $2, $3)");
static struct db_stmt login_failed_stmt = DB_STMT("login_failed", 2,
    "SELECT api_login_failed($1, $2)");

enum login_col { LOGIN_ID, LOGIN_HASH, LOGIN_ACTIVE, LOGIN_WHO, LOGIN_REFUSAL };

/* Answers a new access and refresh token pair for account_id. */
static void
login_reply_tokens(struct request *rq, struct reply *rp,
    const char *account_id)
{
	const struct config *cfg = &rq->app->cfg;
	long now = (long)time(NULL);
	long access_ttl = cfg->access_token_minutes * 60L;
	long refresh_ttl = cfg->refresh_token_days * 86400L;
	char *access, *refresh;
	struct json_object *obj = NULL;

	access = token_sign(cfg->jwt_secret, cfg->jwt_secret_len, account_id,
	    TOKEN_ACCESS, now, access_ttl);
	refresh = token_sign(cfg->jwt_secret, cfg->jwt_secret_len, account_id,
	    TOKEN_REFRESH, now, refresh_ttl);
	if (access != NULL && refresh != NULL &&
	    (obj = json_object_new_object()) != NULL) {
		json_object_object_add(obj, "access_token",
		    json_object_new_string(access));
		json_object_object_add(obj, "refresh_token",
		    json_object_new_string(refresh));
		json_object_object_add(obj, "token_type",
		    json_object_new_string("bearer"));
		json_object_object_add(obj, "expires_in",
		    json_object_new_int64(access_ttl));
	}
	reply_object(rp, 200, obj);
	free(access);
	free(refresh);
}

/* Reads username and password from a form or a JSON body. */
static int
login_read_credentials(struct request *rq, struct reply *rp,
    struct form *form, struct json_object **obj, const char **username,
    const char **password)
{
	if (fields_content_type_is(rq, "application/x-www-form-urlencoded")) {
		if (form_parse(form, rq->body, rq->body_len) == -1) {
			reply_internal_error(rp);
			return -1;
		}
		fields_form_string(rp, form, "body", "username", 1,
		    LOGIN_NAME_MAX, username);
		fields_form_string(rp, form, "body", "password", 1,
		    LOGIN_PASSWORD_MAX, password);
	} else if (fields_json_body(rq, rp, obj) == 0) {
		fields_json_string(rp, *obj, "username", 1, LOGIN_NAME_MAX,
		    FIELDS_REQUIRED, username);
		fields_json_string(rp, *obj, "password", 1,
		    LOGIN_PASSWORD_MAX, FIELDS_REQUIRED, password);
	}
	return reply_has_invalid(rp) || rp->body != NULL ? -1 : 0;
}

/*
 * Whether password is that of the account found (res: the look-up); with
 * none found, the same work against a dummy hash, so that the time taken
 * does not tell whether the account exists.
 */
static int
login_password_ok(const struct request *rq, const PGresult *res,
    const char *password)
{
	if (PQgetisnull(res, 0, LOGIN_ID)) {
		password_verify(password, rq->app->dummy_hash);
		return 0;
	}
	return password_verify(password, PQgetvalue(res, 0, LOGIN_HASH));
}

/*
 * The log line of a refused login: the name tried (quoted: the client
 * chose it), the account when one has that name, the client's address
 * and why. Never the password.
 */
static void
login_log_refused(const struct request *rq, const PGresult *res,
    const char *username, const char *why)
{
	char name[LOG_QUOTE_SIZE];

	log_info("login refused: name %s, account %s, address %s, %s",
	    log_quote(username, name, sizeof(name)),
	    PQgetisnull(res, 0, LOGIN_ID) ? "-" : PQgetvalue(res, 0, LOGIN_ID),
	    rq->client_addr, why);
}

/* Counts a failed login against its account and the client's address. */
static void
login_failed(struct request *rq, const PGresult *res)
{
	const char *params[] = { PQgetvalue(res, 0, LOGIN_WHO),
	    rq->client_addr };
	PGresult *fres;

	if (db_run(&rq->app->db, &login_failed_stmt, params, &fres) != DB_OK)
		log_warnx("login: failure not counted: %s",
		    PQresultErrorMessage(fres));
	PQclear(fres);
}

static void
login_check(struct request *rq, struct reply *rp, const char *username,
    const char *password)
{
	const char *params[] = { username,
	    strchr(username, '@') != NULL ? "true" : "false",
	    rq->client_addr };
	PGresult *res;
	enum db_status st;

	st = db_run(&rq->app->db, &login_lookup_stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (PQntuples(res) != 1 || PQnfields(res) != 5)
		reply_internal_error(rp);
	else if (!PQgetisnull(res, 0, LOGIN_REFUSAL)) {
		login_log_refused(rq, res, username, "429 locked out");
		reply_json(rp, 429, PQgetvalue(res, 0, LOGIN_REFUSAL));
	} else if (!login_password_ok(rq, res, password)) {
		login_log_refused(rq, res, username, "401 wrong password");
		login_failed(rq, res);
		reply_error(rp, 401, "Incorrect username or password");
	} else if (strcmp(PQgetvalue(res, 0, LOGIN_ACTIVE), "t") != 0) {
		login_log_refused(rq, res, username, "403 inactive");
		reply_error(rp, 403, DETAIL_INACTIVE);
	} else
		login_reply_tokens(rq, rp, PQgetvalue(res, 0, LOGIN_ID));
	PQclear(res);
}

void
login_access_token(struct request *rq, struct reply *rp)
{
	struct form form = { .nfields = 0 };
	struct json_object *obj = NULL;
	const char *username = NULL, *password = NULL;

	if (login_read_credentials(rq, rp, &form, &obj, &username,
	    &password) == 0)
		login_check(rq, rp, username, password);
	json_object_put(obj);
	form_free(&form);
}

void
login_refresh_token(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	const char *token = NULL;
	char account_id[UUID_TEXT_SIZE];

	if (fields_json_body(rq, rp, &obj) == -1 ||
	    fields_json_string(rp, obj, "refresh_token", 1, 65536,
	    FIELDS_REQUIRED, &token) == -1)
		goto done;
	if (auth_token_verify(rq->app, token, TOKEN_REFRESH, account_id,
	    NULL) == -1) {
		reply_error(rp, 401, LOGIN_BAD_REFRESH);
		goto done;
	}
	if (auth_account_active(rq, rp, account_id, 401,
	    LOGIN_BAD_REFRESH) == 0)
		login_reply_tokens(rq, rp, account_id);
done:
	json_object_put(obj);
}
