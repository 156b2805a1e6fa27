/*
 * The daemon's timers: lws_sul timers that fire on time on the libev loop.
 *
 * lws 4.1's libev glue re-arms its one libev timer with ev_timer_set()
 * while that timer may still be running, which libev does not notice: a
 * timer due before the running one's deadline (the 1 s tick) fired at that
 * deadline, unless a socket woke the loop first. On a quiet daemon a
 * delivered mark gathered for 25 ms went out up to a second late. So the
 * daemon's timers also keep a libev timer of ours at the earliest of their
 * deadlines, which wakes lws (lws_cancel_service(): lws then runs the
 * timers that are due). lws's own timers (pings, timeouts of its
 * connections) do not come through here: under a second late is fine
 * for them.
 */
#ifndef CHAT_TIMER_H
#define CHAT_TIMER_H

#include <ev.h>
#include <libwebsockets.h>

/* loop: the libev loop lws runs on, or NULL (lws's own poll loop). */
void	timer_init(struct ev_loop *loop, struct lws_context *ctx);
/* lws_sul_schedule(ctx, 0, sul, cb, us), woken on time. */
void	timer_schedule(struct lws_context *ctx, lws_sorted_usec_list_t *sul,
	    sul_cb_t cb, lws_usec_t us);
/* lws_sul_cancel(sul), and its deadline forgotten. */
void	timer_cancel(lws_sorted_usec_list_t *sul);
/* Stops the libev timer (before the loop is destroyed). */
void	timer_free(void);

#endif
