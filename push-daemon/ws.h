/* The WebSocket protocol of the push daemon: handshake, frames, close. */
#ifndef CHAT_WS_H
#define CHAT_WS_H

#include <libwebsockets.h>

#define WS_PATH	"/api/v1/chat/ws/chat"

/* A client silent for this many ping intervals is closed. */
#define WS_HANGUP_PINGS	3

extern const struct lws_protocols ws_protocol;

#endif
