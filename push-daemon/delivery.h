/*
 * Delivered marks: a message becomes "delivered" when its new_message frame
 * has been written to a connection of its receiver (not merely queued), so
 * that a frame lost with a closed or killed connection leaves the message
 * undelivered, to be sent again at the receiver's next connection. Marks are
 * gathered for 25 ms and written in batches, one query in flight at a time.
 */
#ifndef CHAT_DELIVERY_H
#define CHAT_DELIVERY_H

#include <libwebsockets.h>

struct pg;

/* The marks go on pg, their own connection; their timer on ctx. */
void	delivery_init(struct lws_context *ctx, struct pg *pg);
/* The new_message of message_id was written to its receiver. */
void	delivery_written(const char *message_id);
/* Frees the marks not yet written (at exit). */
void	delivery_free(void);

#endif
