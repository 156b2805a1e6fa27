#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "detail.h"
#include "events.h"
#include "frames.h"
#include "groups.h"
#include "hub.h"
#include "log.h"
#include "presence.h"
#include "welcome.h"
#include "token.h"
#include "utf8.h"
#include "ws.h"

/* The one version of the protocol (RFC 6455 §4.1). */
#define WS_VERSION	"13"

/*
 * The handshake: the path, then the token of the query string, then the
 * account's standing, all without a query: refused accounts are kept in
 * memory (presence.c). A refusal is a real HTTP status, as CONTRACT §6 asks.
 */
static int
ws_refuse(struct lws *wsi, unsigned int status, const char *why)
{
	lws_return_http_status(wsi, status, why);
	return -1;
}

/*
 * 426 naming the version spoken (RFC 6455 §4.4): lws 4.1 takes any
 * Sec-WebSocket-Version, or none, for 13.
 */
static int
ws_refuse_version(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 256], *start = buf + LWS_PRE, *p = start;
	unsigned char *end = buf + sizeof(buf);

	if (lws_add_http_header_status(wsi, 426, &p, end) == 0 &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_VERSION,
	    (const unsigned char *)WS_VERSION, (int)strlen(WS_VERSION), &p,
	    end) == 0 &&
	    lws_add_http_header_content_length(wsi, 0, &p, end) == 0 &&
	    lws_finalize_http_header(wsi, &p, end) == 0)
		lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
	return -1;
}

/* 0 when the client speaks version 13, else its refusal. */
static int
ws_version_check(struct lws *wsi)
{
	char version[sizeof(WS_VERSION) + 1];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_VERSION) == 0)
		return ws_refuse(wsi, HTTP_STATUS_BAD_REQUEST, "Bad Request");
	if (lws_hdr_total_length(wsi, WSI_TOKEN_VERSION) >= (int)sizeof(version) ||
	    lws_hdr_copy(wsi, version, sizeof(version), WSI_TOKEN_VERSION) <= 0 ||
	    strcmp(version, WS_VERSION) != 0)
		return ws_refuse_version(wsi);
	return 0;
}

/*
 * Whether the path is the main URL, or the per-group URL of a group (its
 * id, lowercase, into group; group[0] is NUL for the main URL).
 */
static int
ws_path_ok(struct lws *wsi, char group[UUID_TEXT_SIZE])
{
	char path[128];
	int n = lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);
	size_t prefix = strlen(WS_GROUP_PATH);

	group[0] = '\0';
	if (n <= 0)
		return 0;
	if (path[n - 1] == '/')
		path[n - 1] = '\0';
	if (strncmp(path, WS_GROUP_PATH, prefix) == 0)
		return uuid_normalize(path + prefix, group) == 0;
	return strcmp(path, WS_PATH) == 0;
}

/*
 * The since= argument (CONTRACT §10) into s: absent, or 1 to 64 digits
 * and dots, which frames may carry as they are. Whether it is a cursor,
 * and one still good, the replay's query finds (resync_required if not).
 */
static int
ws_since(struct lws *wsi, struct session *s)
{
	char arg[2048];		/* longer than any URI lws takes */
	const char *since = lws_get_urlarg_by_name(wsi, "since=", arg,
	    sizeof(arg));
	size_t len;

	if (since == NULL)
		return 0;
	len = strlen(since);
	if (len == 0 || len > SESSION_CURSOR_MAX ||
	    strspn(since, "0123456789.") != len)
		return -1;
	memcpy(s->since, since, len + 1);
	return 0;
}

static int
ws_filter(struct hub *hub, struct lws *wsi, struct session *s)
{
	const struct config *cfg = hub->cfg;
	char arg[TOKEN_MAX_LEN + 8], group[UUID_TEXT_SIZE];
	const char *token;

	if (ws_version_check(wsi) == -1)
		return -1;
	if (!ws_path_ok(wsi, group))
		return ws_refuse(wsi, HTTP_STATUS_NOT_FOUND, "Not Found");
	/* The answer points into arg, past "token=". */
	token = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof(arg));
	if (token == NULL || token_verify(cfg->jwt_secret, cfg->jwt_secret_len, token,
	    TOKEN_ACCESS, (long)time(NULL), s->account_id, NULL) == -1)
		return ws_refuse(wsi, HTTP_STATUS_UNAUTHORIZED,
		    DETAIL_BAD_CREDENTIALS);
	/* A per-group connection carries its group's frames only, from
	 * now on: it has no since. */
	if (group[0] == '\0' && ws_since(wsi, s) == -1)
		return ws_refuse(wsi, 422, "Invalid cursor");
	/* The cursor of connection_established needs the event horizon; a
	 * per-group handshake, the copy of the groups. */
	if (hub->draining || !hub->refused_loaded || events_moment() == NULL ||
	    (group[0] != '\0' && !groups_loaded()))
		return ws_refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "Service unavailable");
	if (idmap_get(&hub->refused, s->account_id) != NULL)
		return ws_refuse(wsi, HTTP_STATUS_FORBIDDEN, DETAIL_INACTIVE);
	/*
	 * A stranger, a former member, a group deleted: all alike. The
	 * daemon's copy of the groups learns of a new member by reading the
	 * event: a read follows at once, so that a client that was added a
	 * moment ago is let in when it tries again.
	 */
	if (group[0] != '\0' &&
	    groups_admits(group, s->account_id, NULL, 0) == -1) {
		events_wake(hub);
		return ws_refuse(wsi, HTTP_STATUS_FORBIDDEN,
		    "Not a member of this group");
	}
	if (hub->sessions.count >= (size_t)cfg->push_max_connections)
		return ws_refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "Too many connections");
	if (!session_index_has_room(&hub->sessions, s->account_id))
		return ws_refuse(wsi, 429, "Too many connections for this "
		    "account");
	s->hub = hub;
	memcpy(s->group_id, group, UUID_TEXT_SIZE);
	return 0;
}

/*
 * The first frame of a per-group connection (CONTRACT §11): the
 * original's connection_established, and the cursor of the moment. A
 * member gone since the handshake closes at once.
 */
static int
ws_group_established(struct session *s)
{
	char name[512];
	struct json_object *obj;

	if (groups_admits(s->group_id, s->account_id, name, sizeof(name)) == -1)
		return -1;
	if ((obj = json_object_new_object()) == NULL)
		return -1;
	json_object_object_add(obj, "type",
	    json_object_new_string("connection_established"));
	json_object_object_add(obj, "user_id",
	    json_object_new_string(s->account_id));
	json_object_object_add(obj, "group_id",
	    json_object_new_string(s->group_id));
	json_object_object_add(obj, "group_name", json_object_new_string(name));
	json_object_object_add(obj, "my_status",
	    json_object_new_string("active"));
	json_object_object_add(obj, "message",
	    json_object_new_string("Connected to group chat"));
	json_object_object_add(obj, "cursor",
	    json_object_new_string(events_moment()));
	session_send_text(s, json_object_to_json_string_ext(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return 0;
}

static int
ws_established(struct hub *hub, struct lws *wsi, struct session *s)
{
	char frame[256];

	s->hub = hub;
	s->heard_at = time(NULL);
	session_open(s, wsi, &hub->sessions, ++hub->next_session_id);
	if (session_set_state(s, SESSION_REGISTERING) == -1) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		    (unsigned char *)"too many connections", 20);
		return -1;
	}
	if (s->group_id[0] != '\0') {
		groups_attach(s);
		if (ws_group_established(s) == -1) {
			lws_close_reason(wsi,
			    (enum lws_close_status)GROUPS_CLOSE_GONE, NULL, 0);
			return -1;
		}
		welcome_session(hub, s);
		return 0;
	}
	/*
	 * Its cursor: with since, since itself (a client that goes away
	 * before the replay has come keeps its place); without, the event
	 * horizon, from which this session gets the events of every read.
	 */
	snprintf(frame, sizeof(frame), "{\"type\": \"connection_established\", "
	    "\"user_id\": \"%s\", \"message\": \"Connected to chat server\", "
	    "\"cursor\": \"%s\"}", s->account_id,
	    session_has_since(s) ? s->since : events_moment());
	session_send_text(s, frame);
	welcome_session(hub, s);
	return 0;
}

/* Collects the fragments of one message, within the frame size limit. */
static int
ws_receive(struct lws *wsi, struct session *s, const char *in, size_t len)
{
	size_t max = (size_t)s->hub->cfg->push_max_frame_bytes;
	char *grown;

	if (lws_frame_is_binary(wsi)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
		    (unsigned char *)"text frames only", 16);
		return -1;
	}
	if (s->rx_len + len > max) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		    (unsigned char *)"frame too large", 15);
		return -1;
	}
	if ((grown = realloc(s->rx, s->rx_len + len + 1)) == NULL) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
		    NULL, 0);
		return -1;
	}
	s->rx = grown;
	memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	s->rx[s->rx_len] = '\0';
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	if (s->state != SESSION_CLOSING)
		frames_handle(s, s->rx, s->rx_len);
	free(s->rx);
	s->rx = NULL;
	s->rx_len = 0;
	return 0;
}

/*
 * The close codes a peer may send (RFC 6455 §7.4, and the IANA registry
 * for 1012-1014). lws 4.1 turns 0-999, 1004-1006 and 1012-2999 into 1002
 * itself, but passes the others.
 */
static int
ws_close_code_ok(unsigned int code)
{
	return (code >= 1000 && code <= 1003) ||
	    (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999);
}

/* The peer's close frame: its payload is empty, or a code and UTF-8. */
static int
ws_peer_close(struct lws *wsi, const unsigned char *in, size_t len)
{
	if (len == 0 || (len >= 2 &&
	    ws_close_code_ok((unsigned int)in[0] << 8 | in[1]) &&
	    utf8_valid((const char *)in + 2, len - 2)))
		return 0;
	lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
	    (unsigned char *)"bad close frame", 15);
	return -1;
}

/*
 * lws ends a connection without a close code, just before it would send
 * one: the peer broke the protocol where lws checks it without telling
 * us (a control frame over 125 bytes, a close reason that is not UTF-8),
 * the peer is gone, or it did not answer pings. The first is 1002 (RFC
 * 6455 §7.4.1); to a peer that is gone nothing is sent; a peer silent
 * past the ping time limit has not broken the protocol, and gets no code.
 */
static void
ws_dropped(struct hub *hub, struct lws *wsi, struct session *s)
{
	time_t silent = time(NULL) - s->heard_at;
	char c;

	if (lws_get_close_length(wsi) != 0 ||
	    silent >= (time_t)hub->cfg->push_ping_seconds * WS_HANGUP_PINGS - 1)
		return;
	if (recv(lws_get_socket_fd(wsi), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK))
		return;
	lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR,
	    (unsigned char *)"protocol error", 14);
}

/* Any state: refused at the handshake (OPENING), closing, or gone. */
static void
ws_closed(struct hub *hub, struct session *s)
{
	groups_detach(s);
	presence_close(hub, s);
	session_set_state(s, SESSION_CLOSED);
}

static int
ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct hub *hub = lws_context_user(lws_get_context(wsi));
	struct session *s = user;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return ws_filter(hub, wsi, s);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(hub, wsi, s);
	case LWS_CALLBACK_RECEIVE:
		s->heard_at = time(NULL);
		return ws_receive(wsi, s, in, len);
	case LWS_CALLBACK_RECEIVE_PONG:
		s->heard_at = time(NULL);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return ws_peer_close(wsi, in, len);
	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
		ws_dropped(hub, wsi, s);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return session_writeable(s);
	case LWS_CALLBACK_CLOSED:
		ws_closed(hub, s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const struct lws_protocols ws_protocol = {
	"chat", ws_callback, sizeof(struct session), 1024, 0, NULL, 0
};
