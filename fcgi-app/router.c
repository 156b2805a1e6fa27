#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "app.h"
#include "auth.h"
#include "chat.h"
#include "cors.h"
#include "detail.h"
#include "friends.h"
#include "groups.h"
#include "health.h"
#include "login.h"
#include "metrics.h"
#include "router.h"

typedef void (*route_handler)(struct request *, struct reply *);

enum route_access {
	ROUTE_PUBLIC,
	ROUTE_AUTH,		/* needs a valid access token */
	/*
	 * ROUTE_AUTH whose statement checks the caller's account itself
	 * (conversation_gate, caller_refusal in sql/functions/): one round
	 * trip to the database instead of two, on the hottest routes.
	 */
	ROUTE_TOKEN,
};

struct route {
	const char	*method;
	/* Below /api/v1; "*" matches any one segment, captured in order
	 * into rq->params. Literal routes come before "*" routes. */
	const char	*path;
	route_handler	 handler;
	enum route_access access;
};

static const struct route routes[] = {
	{ "GET",	"/health",		health_get,	ROUTE_PUBLIC },

	{ "POST",	"/accounts",		accounts_register, ROUTE_PUBLIC },
	{ "GET",	"/accounts/me",		accounts_me,	ROUTE_AUTH },
	{ "GET",	"/accounts/search",	accounts_search, ROUTE_AUTH },
	{ "GET",	"/accounts/*",		accounts_get,	ROUTE_AUTH },

	{ "POST",	"/auth/access-token",	login_access_token, ROUTE_PUBLIC },
	{ "POST",	"/auth/refresh-token",	login_refresh_token, ROUTE_PUBLIC },

	{ "POST",	"/friends/request",	friends_request, ROUTE_AUTH },
	{ "POST",	"/friends/accept/*",	friends_accept,	ROUTE_AUTH },
	{ "POST",	"/friends/reject/*",	friends_reject,	ROUTE_AUTH },
	{ "GET",	"/friends/list",	friends_list,	ROUTE_AUTH },
	{ "GET",	"/friends",		friends_list,	ROUTE_AUTH },
	{ "GET",	"/friends/pending",	friends_pending, ROUTE_AUTH },
	{ "GET",	"/friends/status/*",	friends_status,	ROUTE_AUTH },
	{ "DELETE",	"/friends/*",		friends_remove,	ROUTE_AUTH },

	{ "POST",	"/chat/messages",	chat_send,	ROUTE_TOKEN },
	{ "GET",	"/chat/messages/unread-count", chat_unread_count, ROUTE_AUTH },
	{ "GET",	"/chat/messages/history/*", chat_history, ROUTE_TOKEN },
	{ "GET",	"/chat/messages/search/*", chat_search,	ROUTE_TOKEN },
	{ "PUT",	"/chat/messages/*/read", chat_mark_read, ROUTE_AUTH },
	{ "DELETE",	"/chat/messages/*",	chat_delete,	ROUTE_AUTH },
	{ "GET",	"/chat/friends/online",	chat_online_friends, ROUTE_AUTH },

	{ "GET",	"/sync",		chat_sync,	ROUTE_TOKEN },

	{ "POST",	"/group-chat",		groups_create,	ROUTE_AUTH },
	{ "GET",	"/group-chat/my-groups", groups_mine,	ROUTE_AUTH },
	{ "GET",	"/group-chat/all",	groups_all,	ROUTE_AUTH },
	{ "GET",	"/group-chat/unread-count", groups_unread_count,
	    ROUTE_AUTH },
	{ "POST",	"/group-chat/membership/batch", groups_membership_batch,
	    ROUTE_AUTH },
	{ "GET",	"/group-chat/*",	groups_get,	ROUTE_AUTH },
	{ "PUT",	"/group-chat/*",	groups_update,	ROUTE_AUTH },
	{ "DELETE",	"/group-chat/*",	groups_delete,	ROUTE_AUTH },
	{ "GET",	"/group-chat/*/members", groups_members, ROUTE_AUTH },
	{ "POST",	"/group-chat/*/members", groups_add_member, ROUTE_AUTH },
	{ "DELETE",	"/group-chat/*/members/*", groups_remove_member,
	    ROUTE_AUTH },
	{ "POST",	"/group-chat/*/ban/*",	groups_ban,	ROUTE_AUTH },
	{ "POST",	"/group-chat/*/leave",	groups_leave,	ROUTE_AUTH },
	{ "POST",	"/group-chat/*/join",	groups_join,	ROUTE_AUTH },
	{ "GET",	"/group-chat/*/membership", groups_membership, ROUTE_AUTH },
	{ "GET",	"/group-chat/*/messages", groups_messages, ROUTE_AUTH },
	{ "POST",	"/group-chat/*/messages", groups_send,	ROUTE_AUTH },
	{ "GET",	"/group-chat/*/messages/search", groups_search,
	    ROUTE_AUTH },
	{ "DELETE",	"/group-chat/*/messages/*", groups_delete_message,
	    ROUTE_AUTH },
	{ "PUT",	"/group-chat/*/read",	groups_read,	ROUTE_AUTH },
	{ "GET",	"/group-chat/*/online",	groups_online,	ROUTE_AUTH },
};

#define ROUTER_NROUTES	(sizeof(routes) / sizeof(routes[0]))

/* The WebSocket paths (push-daemon/ws.h), below /api/v1. */
#define ROUTER_WS_PATH		"/chat/ws/chat"
#define ROUTER_WS_GROUP_PATH	"/group-chat/ws/group/*"

size_t
router_count(void)
{
	return ROUTER_NROUTES;
}

void
router_route_name(size_t i, const char **method, const char **path)
{
	*method = i < ROUTER_NROUTES ? routes[i].method : "";
	*path = i < ROUTER_NROUTES ? routes[i].path : "";
}

/* Whether the request path matches pattern, capturing "*" segments. */
static int
router_match(const char *pattern, struct request *rq)
{
	int i = 0;

	rq->nparams = 0;
	while (*pattern == '/') {
		const char *seg = pattern + 1;
		size_t n = strcspn(seg, "/");

		if (i == rq->nsegments)
			return 0;
		if (n == 1 && seg[0] == '*')
			rq->params[rq->nparams++] = rq->segments[i];
		else if (strlen(rq->segments[i]) != n ||
		    memcmp(rq->segments[i], seg, n) != 0)
			return 0;
		i++;
		pattern = seg + n;
	}
	return i == rq->nsegments;
}

/*
 * Finds the route of rq's path and method. On a path known under other
 * methods only, returns NULL with the Allow header of the 405 in rp.
 */
static const struct route *
router_find(struct request *rq, struct reply *rp, int *path_known)
{
	const struct route *found = NULL;

	*path_known = 0;
	for (size_t i = 0; i < ROUTER_NROUTES; i++) {
		if (!router_match(routes[i].path, rq))
			continue;
		if (strcmp(routes[i].method, rq->method) == 0) {
			found = &routes[i];
			break;
		}
		if (strstr(rp->allow, routes[i].method) == NULL) {
			size_t used = strlen(rp->allow);

			snprintf(rp->allow + used, sizeof(rp->allow) - used,
			    "%s%s", used > 0 ? ", " : "", routes[i].method);
		}
		*path_known = 1;
	}
	/* router_match() left the captures of the last route it tried. */
	if (found != NULL)
		router_match(found->path, rq);
	return found;
}

static int
router_is_preflight(const struct request *rq)
{
	return strcmp(rq->method, "OPTIONS") == 0 && rq->origin != NULL &&
	    rq->cors_method != NULL;
}

/*
 * A ROUTE_TOKEN handler that refused its input ran no statement, so its
 * account was not checked: a gone or inactive account is answered as on
 * the other routes, before the 422.
 */
static void
router_check_account(struct request *rq, struct reply *rp)
{
	struct reply refusal;

	reply_init(&refusal);
	if (auth_account(rq, &refusal) == -1) {
		reply_free(rp);
		*rp = refusal;
	} else
		reply_free(&refusal);
}

void
router_dispatch(struct request *rq, struct reply *rp)
{
	const struct route *route;
	int path_known;

	rq->cors_allowed = cors_origin_allowed(rq->app->cfg.cors_origins,
	    rq->origin);
	if (router_is_preflight(rq)) {
		if (rq->cors_allowed) {
			rp->status = 204;
			rp->preflight = 1;
		} else
			reply_error(rp, 400, "Disallowed CORS origin");
		return;
	}
	if (rq->body_too_large) {
		reply_error(rp, 413, "Request body too large");
		return;
	}
	if (rq->metrics) {
		metrics_reply(rq, rp);
		return;
	}
	/*
	 * A WebSocket handshake reaches chat-fcgi only when the web server
	 * kept it from the push daemons: its query string is not valid
	 * percent-encoding or holds an encoded NUL, which the daemons'
	 * WebSocket library cannot decode (see the web server configurations
	 * under etc/). Its token cannot be read: the 401 of a bad token.
	 */
	if (rq->in_api && (router_match(ROUTER_WS_PATH, rq) ||
	    router_match(ROUTER_WS_GROUP_PATH, rq))) {
		reply_error(rp, 401, DETAIL_BAD_CREDENTIALS);
		return;
	}
	/* Before routing and authentication: no handler reads such input. */
	if (rq->control_in != NULL) {
		if (rq->control_nul)
			reply_invalid(rp, rq->control_in, rq->control_field,
			    "string must not contain U+0000",
			    "value_error.str.nul");
		else
			reply_invalid(rp, rq->control_in, rq->control_field,
			    "string must not contain control characters",
			    "value_error.str.control");
		return;
	}
	route = rq->in_api ? router_find(rq, rp, &path_known) : NULL;
	if (route == NULL) {
		if (rq->in_api && path_known)
			reply_error(rp, 405, "Method Not Allowed");
		else
			reply_error(rp, 404, DETAIL_NOT_FOUND);
		return;
	}
	rq->route = (int)(route - routes) + 1;
	if (route->access == ROUTE_AUTH && auth_bearer(rq, rp) == -1)
		return;
	if (route->access == ROUTE_TOKEN && auth_token(rq, rp) == -1)
		return;
	route->handler(rq, rp);
	if (route->access == ROUTE_TOKEN && reply_has_invalid(rp))
		router_check_account(rq, rp);
}
