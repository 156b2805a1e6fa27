#include "delivery.h"
#include "hub.h"
#include "idlist.h"

/* Marks, records message_delivered and wakes the senders' daemons. */
static struct pg_stmt delivery_stmt = PG_STMT("dl_mark", 1,
    "SELECT push_deliver($1)");

/* The ids waiting for the next batch. */
static struct {
	struct idlist	ids;
	int		in_flight;
} dl;

static void delivery_flush(struct hub *hub);

static void
delivery_done(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	/* On a lost connection the marks are lost too: the messages stay
	 * "sent" and go out again at the receiver's next connection. */
	PQclear(res);
	dl.in_flight = 0;
	delivery_flush(hub);
}

static void
delivery_flush(struct hub *hub)
{
	const char *params[1];

	if (dl.in_flight || (params[0] = idlist_text(&dl.ids)) == NULL)
		return;
	dl.in_flight = pg_query(hub->pg_marks, &delivery_stmt, params,
	    delivery_done, hub) == 0;
	idlist_clear(&dl.ids);
}

void
delivery_written(struct hub *hub, const char *message_id)
{
	if (idlist_add(&dl.ids, message_id) == 0)
		delivery_flush(hub);
}

void
delivery_free(void)
{
	idlist_free(&dl.ids);
	dl.in_flight = 0;
}
