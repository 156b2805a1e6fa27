/*
 * The push daemon's counters and histograms, kept in memory as things
 * happen, for its metrics (docs/OPERATIONS.md, "Metrics"): scrape.c
 * serves them, with the gauges it reads from the hub at each scrape.
 * Nothing here does I/O or knows lws: the layers below the hub record
 * into it. Label values are the daemon's own names (frame types of its
 * frames, its refusals), never a client's text.
 */
#ifndef CHAT_METRICS_H
#define CHAT_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "promtext.h"

/*
 * The type of an outgoing frame, as an index kept in the frame (struct
 * outmsg): every frame the daemon makes begins with its "type" member
 * (json_build_object and json-c keep the order they are given). 0: a
 * frame without one, or past the types the table holds.
 */
uint8_t	metrics_frame_type(const char *text, size_t len);
/* A frame of that type was written to a connection. */
void	metrics_frame_out(uint8_t type);

/* A request frame came in: its type, or "invalid" (frames.c). */
void	metrics_frame_in(const char *type);
/* A request was refused with an error frame of code (429, 422, ...). */
void	metrics_request_refused(const char *type, int code);
/* A handshake was refused: why (a name of ws.c's), and its status. */
void	metrics_handshake_refused(const char *reason, unsigned int status);

/* The round trips of the database connection named so (pg.c). */
struct promtext_histogram *metrics_db_histogram(const char *connection);
/* How old an event was when the event reader read it, in seconds. */
void	metrics_event_lag(double seconds);

/* The counters and histograms, as samples of their families. */
void	metrics_write(struct promtext *pt);

#endif
