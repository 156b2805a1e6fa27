#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detail.h"
#include "events.h"
#include "frames.h"
#include "hub.h"
#include "log.h"
#include "presence.h"
#include "welcome.h"
#include "token.h"
#include "ws.h"

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

static int
ws_path_ok(struct lws *wsi)
{
	char path[64];
	int n = lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI);

	if (n <= 0)
		return 0;
	if (path[n - 1] == '/')
		path[n - 1] = '\0';
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
	s->has_since = 1;
	return 0;
}

static int
ws_filter(struct hub *hub, struct lws *wsi, struct session *s)
{
	const struct config *cfg = hub->cfg;
	char arg[TOKEN_MAX_LEN + 8];
	const char *token;

	if (!ws_path_ok(wsi))
		return ws_refuse(wsi, HTTP_STATUS_NOT_FOUND, "Not Found");
	/* The answer points into arg, past "token=". */
	token = lws_get_urlarg_by_name(wsi, "token=", arg, sizeof(arg));
	if (token == NULL || token_verify(cfg->jwt_secret, cfg->jwt_secret_len, token,
	    TOKEN_ACCESS, (long)time(NULL), s->account_id, NULL) == -1)
		return ws_refuse(wsi, HTTP_STATUS_UNAUTHORIZED,
		    DETAIL_BAD_CREDENTIALS);
	if (ws_since(wsi, s) == -1)
		return ws_refuse(wsi, 422, "Invalid cursor");
	/* The cursor of connection_established needs the event horizon. */
	if (hub->draining || !hub->refused_loaded || events_moment() == NULL)
		return ws_refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "Service unavailable");
	if (idmap_get(&hub->refused, s->account_id) != NULL)
		return ws_refuse(wsi, HTTP_STATUS_FORBIDDEN, DETAIL_INACTIVE);
	if (hub->sessions.count >= (size_t)cfg->push_max_connections)
		return ws_refuse(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "Too many connections");
	if (!session_index_has_room(&hub->sessions, s->account_id))
		return ws_refuse(wsi, 429, "Too many connections for this "
		    "account");
	s->hub = hub;
	return 0;
}

static int
ws_established(struct hub *hub, struct lws *wsi, struct session *s)
{
	char frame[256];

	s->hub = hub;
	session_open(s, wsi, &hub->sessions, ++hub->next_session_id);
	if (session_set_state(s, SESSION_REGISTERING) == -1) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
		    (unsigned char *)"too many connections", 20);
		return -1;
	}
	/*
	 * Its cursor: with since, since itself (a client that goes away
	 * before the replay has come keeps its place); without, the event
	 * horizon, from which this session gets the events of every read.
	 */
	snprintf(frame, sizeof(frame), "{\"type\": \"connection_established\", "
	    "\"user_id\": \"%s\", \"message\": \"Connected to chat server\", "
	    "\"cursor\": \"%s\"}", s->account_id,
	    s->has_since ? s->since : events_moment());
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
	if ((grown = realloc(s->rx, s->rx_len + len + 1)) == NULL)
		return -1;
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

/* Any state: refused at the handshake (OPENING), closing, or gone. */
static void
ws_closed(struct hub *hub, struct session *s)
{
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
		return ws_receive(wsi, s, in, len);
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
