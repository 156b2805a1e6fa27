#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "app.h"
#include "fields.h"
#include "json_input.h"
#include "password.h"
#include "rules.h"

/* The longest name an account search takes, in characters. */
#define ACCOUNT_SEARCH_MAX	100

/* The JSON objects are built by SQL functions of sql/functions/accounts.sql. */
/* The third column: the 429 body when the address has registered too
 * often (CONTRACT §12), else NULL; it takes one of the address's tokens. */
static struct db_stmt accounts_taken_stmt = DB_STMT("accounts_taken", 3,
    "SELECT EXISTS (SELECT 1 FROM account WHERE lower(username) = lower($1)),"
    " EXISTS (SELECT 1 FROM account WHERE lower(email) = lower($2)),"
    " rate_refused('register', $3)");
static struct db_stmt accounts_insert_stmt = DB_STMT("accounts_insert", 5,
    "INSERT INTO account (username, email, password_hash, full_name, avatar)"
    " VALUES ($1, $2, $3, $4, $5) RETURNING api_account(account)");
static struct db_stmt accounts_me_stmt = DB_STMT("accounts_me", 1,
    "SELECT api_account(a) FROM account a WHERE account_id = $1");
static struct db_stmt accounts_get_stmt = DB_STMT("accounts_get", 1,
    "SELECT api_public_account(a) FROM account a WHERE account_id = $1");
static struct db_stmt accounts_search_stmt = DB_STMT("accounts_search", 4,
    "SELECT coalesce(json_agg(api_public_account(a)"
    "   ORDER BY lower(a.username), a.username), '[]')"
    " FROM (SELECT * FROM account"
    "   WHERE is_active AND account_id <> $1"
    "   AND (username ILIKE api_like_pattern($2)"
    "        OR full_name ILIKE api_like_pattern($2))"
    "   ORDER BY lower(username), username OFFSET $3 LIMIT $4) a");

/* Validates the registration body; fields[] receives the five values. */
static void
accounts_validate(struct reply *rp, struct json_object *obj,
    const char *fields[5])
{
	if (fields_json_string(rp, obj, "username", RULES_USERNAME_MIN,
	    RULES_USERNAME_MAX, FIELDS_REQUIRED, &fields[0]) == 0 &&
	    !rules_username_chars(fields[0]))
		reply_invalid(rp, "body", "username",
		    "string does not match regex \"^[A-Za-z0-9_.-]+$\"",
		    "value_error.str.regex");
	if (fields_json_string(rp, obj, "email", 1, RULES_EMAIL_MAX,
	    FIELDS_REQUIRED, &fields[1]) == 0 &&
	    !rules_email(fields[1]))
		reply_invalid(rp, "body", "email",
		    "value is not a valid email address", "value_error.email");
	fields_json_string(rp, obj, "password", RULES_PASSWORD_MIN,
	    RULES_PASSWORD_MAX, FIELDS_REQUIRED, &fields[2]);
	fields_json_string(rp, obj, "full_name", 0, RULES_FULL_NAME_MAX,
	    FIELDS_OPTIONAL, &fields[3]);
	fields_json_avatar(rp, obj, "avatar", RULES_URL_MAX, &fields[4]);
}

/* 400 for a name taken: the email when email, else the username. */
static void
accounts_reply_taken(struct reply *rp, int email)
{
	reply_error(rp, 400, email ? "Email already registered" :
	    "Username already registered");
}

/*
 * 429 when the address registered too often, 400 when the username or the
 * email is taken; 0 when both are free.
 */
static int
accounts_check_taken(struct request *rq, struct reply *rp,
    const char *fields[5])
{
	const char *params[] = { fields[0], fields[1], rq->client_addr };
	PGresult *res;
	enum db_status st;
	int rc = -1;

	st = db_run(&rq->app->db, &accounts_taken_stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (!PQgetisnull(res, 0, 2))
		reply_json(rp, 429, PQgetvalue(res, 0, 2));
	else if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		accounts_reply_taken(rp, 0);
	else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		accounts_reply_taken(rp, 1);
	else
		rc = 0;
	PQclear(res);
	return rc;
}

/* A registration racing ours took a name: the unique index tells which. */
static void
accounts_reply_conflict(struct reply *rp, const PGresult *res)
{
	const char *constraint = PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME);

	accounts_reply_taken(rp, constraint != NULL &&
	    strstr(constraint, "email") != NULL);
}

void
accounts_register(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	const char *fields[5] = { NULL };
	const char *params[5];
	char *hash = NULL;
	PGresult *res = NULL;
	enum db_status st;

	if (fields_json_body(rq, rp, &obj) == -1)
		goto done;
	accounts_validate(rp, obj, fields);
	if (reply_has_invalid(rp) || accounts_check_taken(rq, rp, fields) == -1)
		goto done;
	if ((hash = password_hash(fields[2])) == NULL) {
		reply_internal_error(rp);
		goto done;
	}
	params[0] = fields[0];
	params[1] = fields[1];
	params[2] = hash;
	params[3] = fields[3];
	params[4] = fields[4];
	st = db_run(&rq->app->db, &accounts_insert_stmt, params, &res);
	if (st == DB_OK)
		reply_json(rp, 201, PQgetvalue(res, 0, 0));
	else if (st == DB_FAILED && strcmp(db_sqlstate(res), "23505") == 0)
		accounts_reply_conflict(rp, res);
	else
		reply_db_error(rp, st);
done:
	PQclear(res);
	free(hash);
	json_object_put(obj);
}

/* Answers the JSON of a one-row statement keyed by an account id. */
static void
accounts_reply_one(struct request *rq, struct reply *rp,
    struct db_stmt *stmt, const char *account_id)
{
	const char *params[] = { account_id };
	PGresult *res;
	enum db_status st;

	st = db_run(&rq->app->db, stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else if (PQntuples(res) == 0)
		reply_error(rp, 404, "Account not found");
	else
		reply_json(rp, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}

void
accounts_me(struct request *rq, struct reply *rp)
{
	accounts_reply_one(rq, rp, &accounts_me_stmt, rq->account_id);
}

void
accounts_get(struct request *rq, struct reply *rp)
{
	char id[UUID_TEXT_SIZE];

	if (fields_uuid(rp, "path", "account_id", rq->params[0], id) == 0)
		accounts_reply_one(rq, rp, &accounts_get_stmt, id);
}

void
accounts_search(struct request *rq, struct reply *rp)
{
	const char *name = NULL;
	const char *params[4];
	char skip_text[24], limit_text[24];
	long skip, limit;
	PGresult *res;
	enum db_status st;

	fields_form_string(rp, &rq->query, "query", "name", 1,
	    ACCOUNT_SEARCH_MAX, &name);
	fields_query_int(rp, rq, "skip", 0, 0, LONG_MAX, &skip);
	fields_query_int(rp, rq, "limit", 20, 1, 100, &limit);
	if (reply_has_invalid(rp))
		return;
	snprintf(skip_text, sizeof(skip_text), "%ld", skip);
	snprintf(limit_text, sizeof(limit_text), "%ld", limit);
	params[0] = rq->account_id;
	params[1] = name;
	params[2] = skip_text;
	params[3] = limit_text;
	st = db_run(&rq->app->db, &accounts_search_stmt, params, &res);
	if (st != DB_OK)
		reply_db_error(rp, st);
	else
		reply_json(rp, 200, PQgetvalue(res, 0, 0));
	PQclear(res);
}
