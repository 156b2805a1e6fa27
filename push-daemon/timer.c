#include <stdlib.h>

#include "log.h"
#include "timer.h"

/*
 * The deadlines kept: the daemon's own timers (pg.c's two for each of its
 * three connections, the tick, delivery, events, welcome, the groups'
 * retry) and one for each
 * connection whose reading is paused (session.c), so the table grows; when
 * memory is short, a timer fires as lws alone would.
 */
#define TIMER_FIRST_CAP		16
/* A wake-up this much after the deadline, so that the timer is surely
 * due when lws looks (libev rounds its timers to its own clock reading). */
#define TIMER_MARGIN_US		100

struct timer_due {
	lws_sorted_usec_list_t	*sul;
	lws_usec_t		 at;	/* lws_now_usecs() */
};

static struct {
	struct ev_loop		*loop;
	struct lws_context	*ctx;
	ev_timer		 wake;
	struct timer_due	*due;
	size_t			 n, cap;
} tm;

/* Sets the libev timer to the earliest deadline still ahead. */
static void
timer_arm(void)
{
	lws_usec_t first = 0, now = lws_now_usecs();

	for (size_t i = 0; i < tm.n; i++)
		if (i == 0 || tm.due[i].at < first)
			first = tm.due[i].at;
	ev_timer_stop(tm.loop, &tm.wake);
	if (tm.n == 0)
		return;
	ev_now_update(tm.loop);
	ev_timer_set(&tm.wake, first > now ? (double)(first - now) / 1e6 : 0,
	    0);
	ev_timer_start(tm.loop, &tm.wake);
}

static void
timer_woken(struct ev_loop *loop, ev_timer *w, int revents)
{
	lws_usec_t now = lws_now_usecs();
	size_t kept = 0;

	(void)loop;
	(void)w;
	(void)revents;
	for (size_t i = 0; i < tm.n; i++)
		if (tm.due[i].at > now)
			tm.due[kept++] = tm.due[i];
	tm.n = kept;
	lws_cancel_service(tm.ctx);
	timer_arm();
}

void
timer_init(struct ev_loop *loop, struct lws_context *ctx)
{
	tm.loop = loop;
	tm.ctx = ctx;
	tm.n = 0;
	ev_timer_init(&tm.wake, timer_woken, 0, 0);
}

void
timer_schedule(struct lws_context *ctx, lws_sorted_usec_list_t *sul,
    sul_cb_t cb, lws_usec_t us)
{
	size_t i;

	lws_sul_schedule(ctx, 0, sul, cb, us);
	if (tm.loop == NULL)
		return;		/* lws's poll loop waits for its timers itself */
	for (i = 0; i < tm.n && tm.due[i].sul != sul; i++)
		;
	if (i == tm.cap) {
		size_t cap = tm.cap == 0 ? TIMER_FIRST_CAP : tm.cap * 2;
		struct timer_due *grown = reallocarray(tm.due, cap,
		    sizeof(*grown));

		if (grown == NULL) {
			log_warnx("timer: out of memory; one may fire late");
			return;
		}
		tm.due = grown;
		tm.cap = cap;
	}
	if (i == tm.n)
		tm.n++;
	tm.due[i].sul = sul;
	tm.due[i].at = lws_now_usecs() + us + TIMER_MARGIN_US;
	timer_arm();
}

void
timer_cancel(lws_sorted_usec_list_t *sul)
{
	size_t kept = 0;

	lws_sul_cancel(sul);
	for (size_t i = 0; i < tm.n; i++)
		if (tm.due[i].sul != sul)
			tm.due[kept++] = tm.due[i];
	if (kept != tm.n) {
		tm.n = kept;
		timer_arm();
	}
}

void
timer_free(void)
{
	if (tm.loop != NULL)
		ev_timer_stop(tm.loop, &tm.wake);
	tm.loop = NULL;
	free(tm.due);
	tm.due = NULL;
	tm.n = tm.cap = 0;
}
