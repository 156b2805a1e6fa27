/*
 * The requests a client sends over its WebSocket (CONTRACT §6):
 * send_message, mark_read and typing. Each runs one query; every refused
 * request gets an error frame, none is dropped silently.
 */
#ifndef CHAT_FRAMES_H
#define CHAT_FRAMES_H

#include <stddef.h>

#include "session.h"

/* Handles one complete text frame; text[len] is a NUL byte. */
void	frames_handle(struct session *s, const char *text, size_t len);

#endif
