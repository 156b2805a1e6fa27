#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "fields.h"
#include "groups.h"
#include "json_input.h"
#include "proc.h"

/* CONTRACT §11: a group's name and description, in characters. */
#define GROUPS_NAME_MAX		100
#define GROUPS_DESCRIPTION_MAX	1000
/* Ids in one POST /group-chat/membership/batch at most. */
#define GROUPS_BATCH_MAX	100

/*
 * Every group event concerns the group's members, whom chat-fcgi does
 * not know: the wake-up after one names no account, and every push
 * daemon reads (proc_call with wake NULL).
 */
static struct db_stmt groups_create_stmt = DB_STMT("groups_create", 6,
    "SELECT * FROM api_group_create($1, $2, $3, $4, $5, $6)");
static struct db_stmt groups_mine_stmt = DB_STMT("groups_mine", 1,
    "SELECT api_groups_mine($1)");
static struct db_stmt groups_all_stmt = DB_STMT("groups_all", 4,
    "SELECT api_groups_all($1, $2, $3, $4)");
static struct db_stmt groups_unread_stmt = DB_STMT("groups_unread", 1,
    "SELECT api_group_unread_count($1)");
static struct db_stmt groups_batch_stmt = DB_STMT("groups_batch", 2,
    "SELECT api_group_membership_batch($1, $2)");
static struct db_stmt groups_get_stmt = DB_STMT("groups_get", 2,
    "SELECT * FROM api_group_get($1, $2)");
static struct db_stmt groups_update_stmt = DB_STMT("groups_update", 8,
    "SELECT * FROM api_group_update($1, $2, $3, $4, $5, $6, $7, $8)");
static struct db_stmt groups_delete_stmt = DB_STMT("groups_delete", 2,
    "SELECT * FROM api_group_delete($1, $2)");
static struct db_stmt groups_members_stmt = DB_STMT("groups_members", 2,
    "SELECT * FROM api_group_members($1, $2)");
static struct db_stmt groups_add_stmt = DB_STMT("groups_add", 4,
    "SELECT * FROM api_group_add_member($1, $2, $3, $4)");
static struct db_stmt groups_remove_stmt = DB_STMT("groups_remove", 3,
    "SELECT * FROM api_group_remove_member($1, $2, $3)");
static struct db_stmt groups_ban_stmt = DB_STMT("groups_ban", 3,
    "SELECT * FROM api_group_ban($1, $2, $3)");
static struct db_stmt groups_leave_stmt = DB_STMT("groups_leave", 2,
    "SELECT * FROM api_group_leave($1, $2)");
static struct db_stmt groups_join_stmt = DB_STMT("groups_join", 2,
    "SELECT * FROM api_group_join($1, $2)");
static struct db_stmt groups_membership_stmt = DB_STMT("groups_membership",
    2, "SELECT api_group_membership($1, $2)");
static struct db_stmt groups_messages_stmt = DB_STMT("groups_messages", 4,
    "SELECT * FROM api_group_messages($1, $2, $3, $4)");
static struct db_stmt groups_send_stmt = DB_STMT("groups_send", 4,
    "SELECT * FROM api_group_send($1, $2, $3, $4)");
static struct db_stmt groups_search_stmt = DB_STMT("groups_search", 5,
    "SELECT * FROM api_group_search($1, $2, $3, $4, $5)");
static struct db_stmt groups_delete_message_stmt = DB_STMT(
    "groups_delete_message", 3,
    "SELECT * FROM api_group_delete_message($1, $2, $3)");
static struct db_stmt groups_read_stmt = DB_STMT("groups_read", 3,
    "SELECT * FROM api_group_read($1, $2, $3)");
static struct db_stmt groups_online_stmt = DB_STMT("groups_online", 3,
    "SELECT * FROM api_group_online($1, $2, $3)");

/* The group of the path, its first parameter: 422 at ["path", "group_id"]. */
static int
groups_path_id(struct reply *rp, const struct request *rq,
    char id[UUID_TEXT_SIZE])
{
	return fields_uuid(rp, "path", "group_id", rq->params[0], id);
}

/*
 * proc_call() of stmt with the caller, the group of the path, then the
 * UUID of the path's second parameter (named name) when name is not NULL.
 */
static void
groups_call_on_path(struct request *rq, struct reply *rp,
    struct db_stmt *stmt, const char *name)
{
	char gid[UUID_TEXT_SIZE], other[UUID_TEXT_SIZE];
	const char *params[] = { rq->account_id, gid, other };

	groups_path_id(rp, rq, gid);
	if (name != NULL)
		fields_uuid(rp, "path", name, rq->params[1], other);
	if (!reply_has_invalid(rp))
		proc_call(rq, rp, stmt, params, NULL);
}

void
groups_create(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	const char *name = NULL, *description = NULL, *avatar = NULL;
	int max = rq->app->cfg.groups_max_members;
	char *members, size[16];
	size_t count;

	/* The leader takes one place. */
	if ((members = malloc(RULES_UUID_LIST_SIZE((size_t)max - 1))) == NULL) {
		reply_internal_error(rp);
		return;
	}
	if (fields_json_body(rq, rp, &obj) == 0) {
		fields_json_string(rp, obj, "name", 1, GROUPS_NAME_MAX,
		    FIELDS_REQUIRED, &name);
		fields_json_string(rp, obj, "description", 0,
		    GROUPS_DESCRIPTION_MAX, FIELDS_OPTIONAL, &description);
		fields_json_avatar(rp, obj, "avatar", RULES_URL_MAX, &avatar);
		fields_json_uuid_list(rp, obj, "member_ids", (size_t)max - 1, 1,
		    members, &count);
	}
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, name, description,
		    avatar, members, size };

		snprintf(size, sizeof(size), "%d", max);
		proc_call(rq, rp, &groups_create_stmt, params, NULL);
	}
	json_object_put(obj);
	free(members);
}

void
groups_mine(struct request *rq, struct reply *rp)
{
	const char *params[] = { rq->account_id };

	proc_json(rq, rp, &groups_mine_stmt, params);
}

/* GET /group-chat/all: search is optional, and empty means any name. */
void
groups_all(struct request *rq, struct reply *rp)
{
	const char *search = NULL;
	char skip[24], limit[24];

	if (form_get(&rq->query, "search") != NULL)
		fields_form_string(rp, &rq->query, "query", "search", 0,
		    GROUPS_NAME_MAX, &search);
	fields_page(rp, rq, FIELDS_PAGE_DEFAULT, skip, limit);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id,
		    search != NULL && search[0] != '\0' ? search : NULL,
		    skip, limit };

		proc_json(rq, rp, &groups_all_stmt, params);
	}
}

void
groups_unread_count(struct request *rq, struct reply *rp)
{
	const char *params[] = { rq->account_id };

	proc_json(rq, rp, &groups_unread_stmt, params);
}

void
groups_membership_batch(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	char ids[RULES_UUID_LIST_SIZE(GROUPS_BATCH_MAX)];
	size_t count;

	if (fields_json_body(rq, rp, &obj) == 0 &&
	    fields_json_uuid_list(rp, obj, "group_ids", GROUPS_BATCH_MAX, 0,
	    ids, &count) == 0) {
		const char *params[] = { rq->account_id, ids };

		proc_json(rq, rp, &groups_batch_stmt, params);
	}
	json_object_put(obj);
}

void
groups_get(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_get_stmt, NULL);
}

/*
 * An optional member of a PUT body: *set tells whether it was sent (null
 * included, which clears a nullable field; name may not be null).
 */
enum groups_field {
	GROUPS_TEXT,		/* a string, never null */
	GROUPS_NULLABLE,	/* a string or null */
	GROUPS_URL,		/* an avatar URL or null */
};

static void
groups_update_field(struct reply *rp, struct json_object *obj,
    const char *name, enum groups_field kind, size_t min, size_t max,
    const char **set, const char **value)
{
	struct json_object *v;

	*set = "false";
	*value = NULL;
	if (!json_object_object_get_ex(obj, name, &v))
		return;
	*set = "true";
	if (kind == GROUPS_URL)
		fields_json_avatar(rp, obj, name, max, value);
	else
		fields_json_string(rp, obj, name, min, max,
		    kind == GROUPS_NULLABLE ? FIELDS_OPTIONAL : FIELDS_REQUIRED,
		    value);
}

void
groups_update(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	char gid[UUID_TEXT_SIZE];
	const char *params[8];

	params[0] = rq->account_id;
	params[1] = gid;
	groups_path_id(rp, rq, gid);
	if (fields_json_body(rq, rp, &obj) == 0) {
		groups_update_field(rp, obj, "name", GROUPS_TEXT, 1,
		    GROUPS_NAME_MAX, &params[2], &params[3]);
		groups_update_field(rp, obj, "description", GROUPS_NULLABLE, 0,
		    GROUPS_DESCRIPTION_MAX, &params[4], &params[5]);
		groups_update_field(rp, obj, "avatar", GROUPS_URL, 0,
		    RULES_URL_MAX, &params[6], &params[7]);
	}
	if (!reply_has_invalid(rp))
		proc_call(rq, rp, &groups_update_stmt, params, NULL);
	json_object_put(obj);
}

void
groups_delete(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_delete_stmt, NULL);
}

void
groups_members(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_members_stmt, NULL);
}

/* The role of a new member: "member" (the default) or "moderator". */
static const char *
groups_role(struct reply *rp, struct json_object *obj)
{
	const char *role;

	if (fields_json_string(rp, obj, "role", 0, 16, FIELDS_OPTIONAL,
	    &role) == -1)
		return NULL;
	if (role == NULL)
		return "member";
	if (strcmp(role, "member") == 0 || strcmp(role, "moderator") == 0)
		return role;
	reply_invalid(rp, "body", "role", "value is not a valid enumeration "
	    "member; permitted: 'member', 'moderator'", "type_error.enum");
	return NULL;
}

void
groups_add_member(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	char gid[UUID_TEXT_SIZE], who[UUID_TEXT_SIZE];
	const char *role = NULL;

	groups_path_id(rp, rq, gid);
	if (fields_json_body(rq, rp, &obj) == 0) {
		fields_json_uuid(rp, obj, "account_id", who);
		role = groups_role(rp, obj);
	}
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, gid, who, role };

		proc_call(rq, rp, &groups_add_stmt, params, NULL);
	}
	json_object_put(obj);
}

void
groups_remove_member(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_remove_stmt, "account_id");
}

void
groups_ban(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_ban_stmt, "account_id");
}

void
groups_leave(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_leave_stmt, NULL);
}

void
groups_join(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_join_stmt, NULL);
}

/* Always 200: a stranger learns as much as of a group that is not. */
void
groups_membership(struct request *rq, struct reply *rp)
{
	char gid[UUID_TEXT_SIZE];
	const char *params[] = { rq->account_id, gid };

	if (groups_path_id(rp, rq, gid) == 0)
		proc_json(rq, rp, &groups_membership_stmt, params);
}

void
groups_messages(struct request *rq, struct reply *rp)
{
	char gid[UUID_TEXT_SIZE], skip[24], limit[24];
	const char *params[] = { rq->account_id, gid, skip, limit };

	groups_path_id(rp, rq, gid);
	fields_page(rp, rq, FIELDS_PAGE_DEFAULT, skip, limit);
	if (!reply_has_invalid(rp))
		proc_read(rq, rp, &groups_messages_stmt, params);
}

/* POST /group-chat/{id}/messages: a group_id in the body is ignored. */
void
groups_send(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	const char *content = NULL;
	char gid[UUID_TEXT_SIZE], key[RULES_KEY_MAX + 3];

	groups_path_id(rp, rq, gid);
	if (fields_json_body(rq, rp, &obj) == 0)
		fields_json_content(rp, obj, "content", &content);
	fields_idempotency_key(rp, rq, key);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, gid, content,
		    key[0] != '\0' ? key : NULL };

		proc_call(rq, rp, &groups_send_stmt, params, NULL);
	}
	json_object_put(obj);
}

void
groups_search(struct request *rq, struct reply *rp)
{
	char gid[UUID_TEXT_SIZE], skip[24], limit[24];
	const char *keyword = NULL;

	groups_path_id(rp, rq, gid);
	fields_form_string(rp, &rq->query, "query", "keyword", 1,
	    FIELDS_KEYWORD_MAX, &keyword);
	fields_page(rp, rq, FIELDS_PAGE_DEFAULT, skip, limit);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, gid, keyword, skip,
		    limit };

		proc_read(rq, rp, &groups_search_stmt, params);
	}
}

void
groups_delete_message(struct request *rq, struct reply *rp)
{
	groups_call_on_path(rq, rp, &groups_delete_message_stmt,
	    "message_id");
}

void
groups_read(struct request *rq, struct reply *rp)
{
	struct json_object *obj = NULL;
	char gid[UUID_TEXT_SIZE], id[UUID_TEXT_SIZE];

	groups_path_id(rp, rq, gid);
	if (fields_json_body(rq, rp, &obj) == 0)
		fields_json_uuid(rp, obj, "message_id", id);
	if (!reply_has_invalid(rp)) {
		const char *params[] = { rq->account_id, gid, id };

		proc_call(rq, rp, &groups_read_stmt, params, NULL);
	}
	json_object_put(obj);
}

void
groups_online(struct request *rq, struct reply *rp)
{
	char gid[UUID_TEXT_SIZE], timeout[16];
	const char *params[] = { rq->account_id, gid, timeout };

	snprintf(timeout, sizeof(timeout), "%d",
	    rq->app->cfg.presence_timeout_seconds);
	if (groups_path_id(rp, rq, gid) == 0)
		proc_call(rq, rp, &groups_online_stmt, params, NULL);
}
