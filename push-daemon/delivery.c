#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "events.h"
#include "hub.h"

static struct pg_stmt delivery_stmt = PG_STMT("dl_mark", 1,
    "SELECT push_mark_delivered($1)");

/* The ids waiting, as the text of a uuid[] literal being built: {a,b,c */
static struct {
	char	*ids;
	size_t	 len, cap;
	int	 in_flight;
} dl;

static void delivery_flush(struct hub *hub);

static void
delivery_done(void *arg, PGresult *res)
{
	struct hub *hub = arg;

	/* On a lost connection the marks are lost too: the messages stay
	 * "sent" and go out again at the receiver's next connection. */
	events_notify_if_recorded(hub, res);
	dl.in_flight = 0;
	delivery_flush(hub);
}

static void
delivery_flush(struct hub *hub)
{
	const char *params[1];

	if (dl.in_flight || dl.len == 0)
		return;
	dl.ids[dl.len++] = '}';
	dl.ids[dl.len] = '\0';
	params[0] = dl.ids;
	dl.in_flight = pg_query(hub->pg_events, &delivery_stmt, params,
	    delivery_done, hub) == 0;
	dl.len = 0;
}

void
delivery_written(struct hub *hub, const char *message_id)
{
	size_t need = dl.len + UUID_TEXT_SIZE + 2;
	char *grown;

	if (need > dl.cap) {
		if ((grown = realloc(dl.ids, need * 2)) == NULL)
			return;
		dl.ids = grown;
		dl.cap = need * 2;
	}
	dl.ids[dl.len] = dl.len == 0 ? '{' : ',';
	dl.len++;
	memcpy(dl.ids + dl.len, message_id, UUID_TEXT_SIZE - 1);
	dl.len += UUID_TEXT_SIZE - 1;
	delivery_flush(hub);
}

void
delivery_free(void)
{
	free(dl.ids);
	memset(&dl, 0, sizeof(dl));
}
