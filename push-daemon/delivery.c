#include "delivery.h"
#include "events.h"
#include "idlist.h"
#include "pg.h"
#include "timer.h"

/* Marks and records message_delivered; answers the senders to wake. */
static struct pg_stmt delivery_stmt = PG_STMT("dl_mark", 1,
    "SELECT push_mark_delivered($1)");

/*
 * Marks are gathered for this long after the first of a batch (or up to
 * DELIVERY_BATCH_MAX): each batch commits and wakes the senders' daemons,
 * so a batch of one per round trip cost a commit, a notification and a
 * read elsewhere per message. Only message_delivered waits for it.
 */
#define DELIVERY_GATHER_US	(25 * LWS_US_PER_MS)
#define DELIVERY_BATCH_MAX	500
/*
 * Batches queued at most. Past that the database is not keeping up, and
 * new marks are dropped rather than kept without end (341,000 ids had
 * piled up behind one stalled batch): those messages stay "sent" and go
 * out again at the receiver's next connection (CONTRACT §7).
 */
#define DELIVERY_QUEUED_MAX	8

/* The ids waiting for the next batch. */
static struct {
	struct idlist		ids;
	int			queued;		/* batches sent, not answered */
	int			gathering;	/* the timer is set */
	lws_sorted_usec_list_t	timer;
	struct lws_context	*ctx;
	struct pg		*pg;		/* the marks' own connection */
} dl;

static void delivery_flush(void);

void
delivery_init(struct lws_context *ctx, struct pg *pg)
{
	dl.ctx = ctx;
	dl.pg = pg;
}

static void
delivery_done(void *arg, PGresult *res)
{
	(void)arg;
	/* On a lost connection the marks are lost too: the messages stay
	 * "sent" and go out again at the receiver's next connection. */
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		/* After the commit, the senders' daemons read. */
		events_marks_committed(dl.pg, PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	dl.queued--;
	delivery_flush();
}

static void
delivery_due(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	dl.gathering = 0;
	delivery_flush();
}

/* Sends the waiting ids as one batch. */
static void
delivery_send(void)
{
	const char *params[1];

	if ((params[0] = idlist_text(&dl.ids)) == NULL)
		return;
	/* Counted first: a connection lost on the way answers at once. */
	dl.queued++;
	if (pg_query(dl.pg, &delivery_stmt, params, delivery_done, NULL) == -1)
		dl.queued--;
	idlist_clear(&dl.ids);
}

/*
 * A batch goes once it has gathered and none is in flight (until then it
 * grows), or once it is full.
 */
static void
delivery_flush(void)
{
	if ((!dl.gathering && dl.queued == 0) ||
	    (dl.ids.n >= DELIVERY_BATCH_MAX && dl.queued < DELIVERY_QUEUED_MAX))
		delivery_send();
}

void
delivery_written(const char *message_id)
{
	if (dl.ids.n >= DELIVERY_BATCH_MAX ||
	    idlist_add(&dl.ids, message_id) == -1)
		return;		/* dropped: see DELIVERY_QUEUED_MAX */
	if (dl.ids.n == DELIVERY_BATCH_MAX)
		delivery_flush();
	else if (!dl.gathering) {
		dl.gathering = 1;
		timer_schedule(dl.ctx, &dl.timer, delivery_due,
		    DELIVERY_GATHER_US);
	}
}

void
delivery_free(void)
{
	idlist_free(&dl.ids);
	dl.queued = 0;
	dl.gathering = 0;
}
