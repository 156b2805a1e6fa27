/*
 * The requests a client sends over its WebSocket (CONTRACT §6):
 * send_message, mark_read and typing. Each runs one query; every refused
 * request gets an error frame, none is dropped silently.
 */
#ifndef CHAT_FRAMES_H
#define CHAT_FRAMES_H

#include <stddef.h>

#include "session.h"

/*
 * The database session of hub->pg is given the rate limits of hub->cfg
 * (CONTRACT §12): at each connection, and after a reload.
 */
void	frames_connected(struct hub *hub);
/* Once a second: forgets the rates of accounts idle for long enough. */
void	frames_tick(struct hub *hub);
/* Frees what frames.c keeps, at exit. */
void	frames_free(void);

/* Handles one complete text frame; text[len] is a NUL byte. */
void	frames_handle(struct session *s, const char *text, size_t len);

#endif
