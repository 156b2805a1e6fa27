#include "app.h"
#include "fields.h"
#include "friends.h"
#include "json_input.h"
#include "proc.h"

static struct db_stmt friends_request_stmt = DB_STMT("friends_request", 2,
    "SELECT * FROM api_friend_request($1, $2)");
static struct db_stmt friends_answer_stmt = DB_STMT("friends_answer", 3,
    "SELECT * FROM api_friend_answer($1, $2, $3)");
static struct db_stmt friends_remove_stmt = DB_STMT("friends_remove", 2,
    "SELECT * FROM api_friend_remove($1, $2)");
static struct db_stmt friends_status_stmt = DB_STMT("friends_status", 2,
    "SELECT * FROM api_friend_status($1, $2)");
static struct db_stmt friends_list_stmt = DB_STMT("friends_list", 1,
    "SELECT api_friends($1)");
static struct db_stmt friends_pending_stmt = DB_STMT("friends_pending", 1,
    "SELECT api_friend_requests($1)");

void
friends_request(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	char id[UUID_TEXT_SIZE];

	if (fields_json_body(rq, rp, &obj) == 0 &&
	    fields_json_uuid(rp, obj, "receiver_id", id) == 0) {
		const char *params[] = { rq->account_id, id };

		proc_call(rq, rp, &friends_request_stmt, params, NULL);
	}
	json_object_put(obj);
}

void
friends_accept(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &friends_answer_stmt, "sender_id", "true");
}

void
friends_reject(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &friends_answer_stmt, "sender_id", "false");
}

void
friends_list(struct request *rq, struct reply *rp)
{
	const char *params[] = { rq->account_id };

	proc_json(rq, rp, &friends_list_stmt, params);
}

void
friends_pending(struct request *rq, struct reply *rp)
{
	const char *params[] = { rq->account_id };

	proc_json(rq, rp, &friends_pending_stmt, params);
}

void
friends_status(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &friends_status_stmt, "account_id", NULL);
}

void
friends_remove(struct request *rq, struct reply *rp)
{
	proc_call_on_id(rq, rp, &friends_remove_stmt, "friend_id", NULL);
}
