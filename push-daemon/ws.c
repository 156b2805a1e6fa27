#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "clientaddr.h"
#include "detail.h"
#include "events.h"
#include "frames.h"
#include "groups.h"
#include "hub.h"
#include "log.h"
#include "metrics.h"
#include "presence.h"
#include "rxwatch.h"
#include "welcome.h"
#include "token.h"
#include "utf8.h"
#include "ws.h"

/* The one version of the protocol (RFC 6455 §4.1). */
#define WS_VERSION	"13"

/*
 * The refusals of a handshake: the HTTP status, why (its body, and the
 * reason in its log line), and the reason's name in the metrics.
 */
enum ws_refusal {
	WS_BAD_HEAD,
	WS_NO_VERSION,
	WS_OTHER_VERSION,
	WS_BAD_PATH,
	WS_BAD_TOKEN,
	WS_BAD_CURSOR,
	WS_UNAVAILABLE,
	WS_INACTIVE,
	WS_NOT_MEMBER,
	WS_FULL,
	WS_ACCOUNT_FULL,
};

static const struct {
	unsigned int	 status;
	const char	*why;
	const char	*name;
} ws_refusals[] = {
	[WS_BAD_HEAD] = { HTTP_STATUS_BAD_REQUEST, "Bad Request", "head" },
	[WS_NO_VERSION] = { HTTP_STATUS_BAD_REQUEST, "Bad Request",
	    "no_version" },
	[WS_OTHER_VERSION] = { 426, "Upgrade Required", "version" },
	[WS_BAD_PATH] = { HTTP_STATUS_NOT_FOUND, DETAIL_NOT_FOUND, "path" },
	[WS_BAD_TOKEN] = { HTTP_STATUS_UNAUTHORIZED, DETAIL_BAD_CREDENTIALS,
	    "token" },
	[WS_BAD_CURSOR] = { 422, "Invalid cursor", "cursor" },
	[WS_UNAVAILABLE] = { HTTP_STATUS_SERVICE_UNAVAILABLE,
	    "Service unavailable", "unavailable" },
	[WS_INACTIVE] = { HTTP_STATUS_FORBIDDEN, DETAIL_INACTIVE, "inactive" },
	[WS_NOT_MEMBER] = { HTTP_STATUS_FORBIDDEN, "Not a member of this group",
	    "not_member" },
	[WS_FULL] = { HTTP_STATUS_SERVICE_UNAVAILABLE, "Too many connections",
	    "max_connections" },
	[WS_ACCOUNT_FULL] = { 429, "Too many connections for this account",
	    "max_connections_per_account" },
};

/*
 * The log line of a refused handshake: why (never the token), the
 * account when the token named one, and the client's address. A refusal
 * for want of capacity is the service's trouble: a warning.
 */
#define WS_REFUSED_LINE	"handshake refused: %u %s, account %s, address %s"

/* Logs and counts a refusal with status (an HTTP status, or 1008). */
static void
ws_refused(const struct session *s, unsigned int status, const char *why,
    const char *name)
{
	const char *account = s->account_id[0] != '\0' ? s->account_id : "-";

	if (status == HTTP_STATUS_SERVICE_UNAVAILABLE)
		log_warnx(WS_REFUSED_LINE, status, why, account, s->addr);
	else
		log_info(WS_REFUSED_LINE, status, why, account, s->addr);
	metrics_handshake_refused(name, status);
}

/*
 * The handshake: the path, then the token of the query string, then the
 * account's standing, all without a query: refused accounts are kept in
 * memory (presence.c). A refusal is a real HTTP status, as CONTRACT §6
 * asks; why is its body.
 */
static int
ws_refuse(struct lws *wsi, const struct session *s, enum ws_refusal r)
{
	ws_refused(s, ws_refusals[r].status, ws_refusals[r].why,
	    ws_refusals[r].name);
	lws_return_http_status(wsi, ws_refusals[r].status, ws_refusals[r].why);
	return -1;
}

/*
 * Writes a whole answer, after which the connection ends (the caller
 * returns -1): status, one more header (token: value) and body, JSON
 * (NULL: none).
 */
static void
ws_write_answer(struct lws *wsi, unsigned int status,
    enum lws_token_indexes token, const char *value, const char *body)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start;
	size_t len = body != NULL ? strlen(body) : 0;
	unsigned char *end;

	if (len > sizeof(buf) / 2)
		return;
	end = buf + sizeof(buf) - len;	/* the headers leave room for it */
	if (lws_add_http_header_status(wsi, status, &p, end) != 0 ||
	    lws_add_http_header_by_token(wsi, token,
	    (const unsigned char *)value, (int)strlen(value), &p, end) != 0 ||
	    (body != NULL && lws_add_http_header_by_token(wsi,
	    WSI_TOKEN_HTTP_CONTENT_TYPE,
	    (const unsigned char *)"application/json", 16, &p, end) != 0) ||
	    lws_add_http_header_content_length(wsi, len, &p, end) != 0 ||
	    lws_finalize_http_header(wsi, &p, end) != 0)
		return;
	if (body == NULL) {
		lws_write(wsi, start, (size_t)(p - start),
		    LWS_WRITE_HTTP_HEADERS);
		return;
	}
	memcpy(p, body, len);
	p += len;
	lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP);
}

/*
 * 426 naming the version spoken (RFC 6455 §4.4): lws 4.1 takes any
 * Sec-WebSocket-Version, or none, for 13.
 */
static int
ws_refuse_version(struct lws *wsi, const struct session *s)
{
	unsigned int status = ws_refusals[WS_OTHER_VERSION].status;

	ws_refused(s, status, ws_refusals[WS_OTHER_VERSION].why,
	    ws_refusals[WS_OTHER_VERSION].name);
	ws_write_answer(wsi, status, WSI_TOKEN_VERSION, WS_VERSION, NULL);
	return -1;
}

/*
 * A request that is not a handshake: 404, and its connection ends, so
 * that what follows a head on a connection is always frames (rxscan.h).
 * "Connection: close" tells the client, or the web server keeping its
 * connections to the daemon, not to send another request on it.
 */
static int
ws_not_a_handshake(struct lws *wsi)
{
	ws_write_answer(wsi, HTTP_STATUS_NOT_FOUND, WSI_TOKEN_CONNECTION,
	    "close", "{\"detail\": \"" DETAIL_NOT_FOUND "\"}");
	return -1;
}

/* 0 when the client speaks version 13, else its refusal. */
static int
ws_version_check(struct lws *wsi, const struct session *s)
{
	char version[sizeof(WS_VERSION) + 1];

	if (lws_hdr_total_length(wsi, WSI_TOKEN_VERSION) == 0)
		return ws_refuse(wsi, s, WS_NO_VERSION);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_VERSION) >= (int)sizeof(version) ||
	    lws_hdr_copy(wsi, version, sizeof(version), WSI_TOKEN_VERSION) <= 0 ||
	    strcmp(version, WS_VERSION) != 0)
		return ws_refuse_version(wsi, s);
	return 0;
}

/* s->addr: the peer, or whom a trusted proxy forwarded (clientaddr.h). */
static void
ws_client_addr(const struct config *cfg, struct lws *wsi, struct session *s)
{
	char peer[CLIENTADDR_SIZE], xff[1024];
	const char *remote, *forwarded = NULL;
	int len = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);

	remote = lws_get_peer_simple(wsi, peer, sizeof(peer));
	if (len > 0 && len < (int)sizeof(xff) && lws_hdr_copy(wsi, xff,
	    sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR) > 0)
		forwarded = xff;
	clientaddr_get(cfg->trusted_proxies, remote, forwarded, s->addr);
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

	ws_client_addr(cfg, wsi, s);
	if (!rxwatch_head_ok(wsi))
		return ws_refuse(wsi, s, WS_BAD_HEAD);
	if (ws_version_check(wsi, s) == -1)
		return -1;
	if (!ws_path_ok(wsi, group))
		return ws_refuse(wsi, s, WS_BAD_PATH);
	/* The answer points into arg, past "token=". */
	token = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof(arg));
	if (token == NULL || token_verify_either(cfg->jwt_secret,
	    cfg->jwt_secret_len, cfg->jwt_previous, cfg->jwt_previous_len,
	    token, TOKEN_ACCESS, (long)time(NULL), s->account_id, NULL) == -1) {
		s->account_id[0] = '\0';
		return ws_refuse(wsi, s, WS_BAD_TOKEN);
	}
	/* A per-group connection carries its group's frames only, from
	 * now on: it has no since. */
	if (group[0] == '\0' && ws_since(wsi, s) == -1)
		return ws_refuse(wsi, s, WS_BAD_CURSOR);
	/* The cursor of connection_established needs the event horizon; a
	 * per-group handshake, the copy of the groups. */
	if (hub->draining || !hub->refused_loaded || events_moment() == NULL ||
	    (group[0] != '\0' && !groups_loaded()))
		return ws_refuse(wsi, s, WS_UNAVAILABLE);
	if (idmap_get(&hub->refused, s->account_id) != NULL)
		return ws_refuse(wsi, s, WS_INACTIVE);
	/*
	 * A stranger, a former member, a group deleted: all alike. The
	 * daemon's copy of the groups learns of a new member by reading the
	 * event: a read follows at once, so that a client that was added a
	 * moment ago is let in when it tries again.
	 */
	if (group[0] != '\0' &&
	    groups_admits(group, s->account_id, NULL, 0) == -1) {
		events_wake(hub);
		return ws_refuse(wsi, s, WS_NOT_MEMBER);
	}
	if (hub->sessions.count >= (size_t)cfg->push_max_connections)
		return ws_refuse(wsi, s, WS_FULL);
	if (!session_index_has_room(&hub->sessions, s->account_id))
		return ws_refuse(wsi, s, WS_ACCOUNT_FULL);
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

/* Closes with code, the one the connection's closed line reports. */
static int
ws_close(struct lws *wsi, struct session *s, enum lws_close_status code,
    const char *reason)
{
	s->close_code = (int)code;
	lws_close_reason(wsi, code, (unsigned char *)reason,
	    strlen(reason));
	return -1;
}

/*
 * A client frame without its mask (RFC 6455 §5.1, rxwatch.h). The close
 * frame is written here, raw, and the connection ends at once: the
 * client's own close would not get through rxwatch.c, and an endpoint
 * failing the connection need not wait for it (§7.1.7).
 */
static int
ws_unmasked(struct lws *wsi, struct session *s)
{
	static const char reason[] = "frame not masked";
	unsigned char buf[LWS_PRE + 4 + sizeof(reason)], *frame = buf + LWS_PRE;
	size_t len = 4 + sizeof(reason) - 1;

	frame[0] = 0x88;			/* FIN, close */
	frame[1] = (unsigned char)(len - 2);
	frame[2] = LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8;
	frame[3] = LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff;
	memcpy(frame + 4, reason, sizeof(reason) - 1);
	lws_write(wsi, frame, len, LWS_WRITE_RAW);
	s->close_code = LWS_CLOSE_STATUS_PROTOCOL_ERR;
	return -1;
}

static int
ws_established(struct hub *hub, struct lws *wsi, struct session *s)
{
	char frame[256];

	s->hub = hub;
	s->heard_at = time(NULL);
	session_open(s, wsi, &hub->sessions, ++hub->next_session_id);
	if (session_set_state(s, SESSION_REGISTERING) == -1) {
		ws_refused(s, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		    "too many connections",
		    ws_refusals[WS_ACCOUNT_FULL].name);
		return ws_close(wsi, s, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		    "too many connections");
	}
	log_info("connection opened: account %s, node %s, session %llu, "
	    "address %s", s->account_id, hub->node_id,
	    (unsigned long long)s->id, s->addr);
	rxwatch_attach(wsi);
	if (s->group_id[0] != '\0') {
		groups_attach(s);
		if (ws_group_established(s) == -1)
			return ws_close(wsi, s,
			    (enum lws_close_status)GROUPS_CLOSE_GONE, "");
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

	if (lws_frame_is_binary(wsi))
		return ws_close(wsi, s, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
		    "text frames only");
	if (s->rx_len + len > max)
		return ws_close(wsi, s, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		    "frame too large");
	if ((grown = realloc(s->rx, s->rx_len + len + 1)) == NULL)
		return ws_close(wsi, s, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
		    "");
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

/*
 * The peer's close frame: its payload is empty (1005, RFC 6455 §7.1.5),
 * or a code and UTF-8.
 */
static int
ws_peer_close(struct lws *wsi, struct session *s, const unsigned char *in,
    size_t len)
{
	if (len == 0) {
		s->peer_close_code = LWS_CLOSE_STATUS_NO_STATUS;
		return 0;
	}
	if (len >= 2 && ws_close_code_ok((unsigned int)in[0] << 8 | in[1]) &&
	    utf8_valid((const char *)in + 2, len - 2)) {
		s->peer_close_code = in[0] << 8 | in[1];
		return 0;
	}
	return ws_close(wsi, s, LWS_CLOSE_STATUS_PROTOCOL_ERR,
	    "bad close frame");
}

/*
 * lws ends a connection without a close code, just before it would send
 * one: the peer broke the protocol where lws checks it without telling
 * us (a control frame over 125 bytes, a close reason that is not UTF-8),
 * the peer is gone, or it did not answer pings. The first is 1002 (RFC
 * 6455 §7.4.1); to a peer that is gone nothing is sent; a peer silent
 * past the ping time limit has not broken the protocol, and gets no code.
 * Nor does a connection whose close had begun (ours or the peer's).
 */
static void
ws_dropped(struct hub *hub, struct lws *wsi, struct session *s)
{
	time_t silent = time(NULL) - s->heard_at;
	char c;

	if (s->close_code != 0 || s->peer_close_code != 0 ||
	    lws_get_close_length(wsi) != 0 ||
	    silent >= (time_t)hub->cfg->push_ping_seconds * WS_HANGUP_PINGS - 1)
		return;
	if (recv(lws_get_socket_fd(wsi), &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK))
		return;
	ws_close(wsi, s, LWS_CLOSE_STATUS_PROTOCOL_ERR, "protocol error");
}

/*
 * The line of a connection that opened: how long it lasted, and the code
 * of the first close frame, ours or the peer's; 1006 (RFC 6455 §7.1.5)
 * when none went either way (the peer vanished, or was silent too long).
 */
static void
ws_log_closed(const struct hub *hub, const struct session *s)
{
	struct timespec now;
	double lasted = 0;
	int code = 1006;
	const char *by = "none sent";

	if (clock_gettime(CLOCK_MONOTONIC, &now) == 0)
		lasted = (double)(now.tv_sec - s->opened_mono.tv_sec) +
		    (double)(now.tv_nsec - s->opened_mono.tv_nsec) / 1e9;
	if (s->close_code != 0) {
		code = s->close_code;
		by = "by server";
	} else if (s->peer_close_code != 0) {
		code = s->peer_close_code;
		by = "by client";
	}
	log_info("connection closed: account %s, node %s, session %llu, "
	    "address %s, %.3f s, code %d (%s)", s->account_id, hub->node_id,
	    (unsigned long long)s->id, s->addr, lasted, code, by);
}

/* Any state: refused at the handshake (OPENING), closing, or gone. */
static void
ws_closed(struct hub *hub, struct session *s)
{
	groups_detach(s);
	if (s->state != SESSION_OPENING)
		ws_log_closed(hub, s);
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
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return rxwatch_open((int)(intptr_t)in);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		/* WebSocket only: no HTTP/2 (h2c), whose streams' frames
		 * rxwatch.c could not read. */
		return in != NULL && strcasecmp(in, "websocket") == 0 ? 0 : -1;
	case LWS_CALLBACK_HTTP:
		return ws_not_a_handshake(wsi);
	case LWS_CALLBACK_RAW_ADOPT:
		/* A CONNECT request, which lws makes a raw connection. */
		return -1;
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
		return ws_peer_close(wsi, s, in, len);
	case LWS_CALLBACK_WS_SERVER_DROP_PROTOCOL:
		ws_dropped(hub, wsi, s);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (rxwatch_refused(wsi))
			return ws_unmasked(wsi, s);
		return session_writeable(s);
	case LWS_CALLBACK_CLOSED:
		rxwatch_detach(wsi);
		ws_closed(hub, s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

const struct lws_protocols ws_protocol = {
	"chat", ws_callback, sizeof(struct session), 1024, 0, NULL, 0
};
