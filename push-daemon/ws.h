/* The WebSocket protocol of the push daemon: handshake, frames, close. */
#ifndef CHAT_WS_H
#define CHAT_WS_H

#include <libwebsockets.h>

#define WS_PATH	"/api/v1/chat/ws/chat"
/* The original's per-group URL (CONTRACT §11): this, then the group's id. */
#define WS_GROUP_PATH	"/api/v1/group-chat/ws/group/"

/* A client silent for this many ping intervals is closed. */
#define WS_HANGUP_PINGS	3

extern const struct lws_protocols ws_protocol;

#endif
