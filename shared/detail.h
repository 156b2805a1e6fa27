/*
 * The details of the failures that both programs answer (docs/API.md): in
 * a REST body {"detail": ...}, a WebSocket error frame or a refused
 * handshake alike. Macros, so that a constant body can hold them.
 */
#ifndef CHAT_DETAIL_H
#define CHAT_DETAIL_H

/* 404: nothing to answer there: a route unknown to chat-fcgi, its metrics
 * asked from elsewhere, a push daemon's handshake on another path, or a
 * request to a push daemon that is not a handshake. */
#define DETAIL_NOT_FOUND	"Not Found"
/* 503: no connection to the database. */
#define DETAIL_DB_UNAVAILABLE	"Database unavailable"
/* 500: a fault of ours (an unexpected answer, no memory), never the input's. */
#define DETAIL_INTERNAL		"Internal Server Error"
/* 401: an access token that is not valid, or whose account is gone. */
#define DETAIL_BAD_CREDENTIALS	"Could not validate credentials"
/* 403: the account is inactive. */
#define DETAIL_INACTIVE		"Inactive user"

/* 429: past a rate limit (CONTRACT §12); sql/functions/limits.sql says
 * the same in the refusals it makes. */
#define DETAIL_RATE_LIMITED	"Too many requests"
/* 429: a WebSocket connection with too many requests waiting for the
 * database (CONTRACT §12, fairness). */
#define DETAIL_TOO_MANY_WAITING	"Too many requests waiting for an answer"

#endif
