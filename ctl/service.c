/*
 * chatctl online, kick, stats: the service as the database sees it.
 * Presence is the daemons' (presence_connection, presence_node): a
 * connection counts while its daemon's heartbeat is younger than
 * presence.node_timeout_seconds, as for the online friends of the API.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

/* How long kick waits for the daemons to close the connections: a client
 * that does not answer the close frame keeps its connection until lws
 * stops waiting for it (5 s). */
#define SERVICE_KICK_WAIT_MS	6000
#define SERVICE_KICK_POLL_MS	100

/* The connections on live daemons, of one account and on one node when
 * they are not NULL; the columns of chatctl online. */
static const char *const service_connections_sql =
    "SELECT c.node_id, c.connection_id, c.account_id, a.username,"
    " api_time(c.connected_at)"
    " FROM presence_connection c"
    " JOIN presence_node n USING (node_id)"
    " JOIN account a USING (account_id)"
    " WHERE n.heartbeat_at > now() - make_interval(secs => $1::int)"
    "   AND ($2::uuid IS NULL OR c.account_id = $2::uuid)"
    "   AND ($3::text IS NULL OR c.node_id = $3)"
    " ORDER BY c.node_id, c.connected_at, c.connection_id";

static PGresult *
service_connections(struct ctl *ctl, const char *account_id,
    const char *node)
{
	char timeout[16];
	const char *params[] = { timeout, account_id, node };

	ctl_config(ctl);
	snprintf(timeout, sizeof(timeout), "%d",
	    ctl->cfg.presence_timeout_seconds);
	return ctl_query(ctl, service_connections_sql, 3, params);
}

static const struct option service_online_options[] = {
	{ "node", required_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};

int
service_online(struct ctl *ctl, int argc, char *argv[])
{
	const char *node = NULL;
	PGresult *res;
	int ch, n, nodes = 0;

	while ((ch = getopt_long(argc, argv, "n:", service_online_options,
	    NULL)) != -1) {
		if (ch != 'n')
			ctl_usage(stderr, 2);
		node = optarg;
	}
	if (optind != argc)
		ctl_usage(stderr, 2);
	res = service_connections(ctl, NULL, node);
	n = PQntuples(res);
	printf("%-16s %10s  %-36s  %-32s  %s\n", "NODE", "CONNECTION",
	    "ACCOUNT", "USERNAME", "SINCE");
	for (int i = 0; i < n; i++) {
		printf("%-16s %10s  %-36s  %-32s  %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		if (i == 0 || strcmp(PQgetvalue(res, i, 0),
		    PQgetvalue(res, i - 1, 0)) != 0)
			nodes++;
	}
	PQclear(res);
	printf("%d connections on %d daemons\n", n, nodes);
	return 0;
}

/* Whether the connection (node, id) is a row of res. */
static int
service_has_connection(const PGresult *res, const char *node, const char *id)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), node) == 0 &&
		    strcmp(PQgetvalue(res, i, 1), id) == 0)
			return 1;
	return 0;
}

static void
service_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * kick: the daemons close each connection of the account with 1008, and
 * write its end in presence_connection as they do for any close. Waits
 * until the connections open before the kick are gone (new ones may have
 * come since: a client reconnects), or reports those left.
 */
int
service_kick(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_account a;
	const char *params[1];
	PGresult *before, *now = NULL;
	int left = 0;

	if (argc != 2)
		ctl_usage(stderr, 2);
	ctl_account_find(ctl, argv[1], &a);
	before = service_connections(ctl, a.id, NULL);
	params[0] = a.id;
	PQclear(ctl_query(ctl, "SELECT account_kick($1)", 1, params));
	for (long waited = 0; waited <= SERVICE_KICK_WAIT_MS;
	    waited += SERVICE_KICK_POLL_MS) {
		PQclear(now);
		now = service_connections(ctl, a.id, NULL);
		left = 0;
		for (int i = 0; i < PQntuples(before); i++)
			left += service_has_connection(now,
			    PQgetvalue(before, i, 0), PQgetvalue(before, i, 1));
		if (left == 0)
			break;
		service_sleep_ms(SERVICE_KICK_POLL_MS);
	}
	printf("kicked %s (%s): %d of %d connections closed\n", a.username,
	    a.id, PQntuples(before) - left, PQntuples(before));
	for (int i = 0; left > 0 && i < PQntuples(before); i++)
		if (service_has_connection(now, PQgetvalue(before, i, 0),
		    PQgetvalue(before, i, 1)))
			printf("  still open: %s connection %s (is that daemon "
			    "connected to the database?)\n",
			    PQgetvalue(before, i, 0), PQgetvalue(before, i, 1));
	PQclear(before);
	PQclear(now);
	return left == 0 ? 0 : 1;
}

/* One row of one column of sql (no parameter). */
static void
service_print_value(struct ctl *ctl, const char *label, const char *sql)
{
	PGresult *res = ctl_query(ctl, sql, 0, NULL);

	printf("%-18s %s\n", label, PQgetvalue(res, 0, 0));
	PQclear(res);
}

int
service_stats(struct ctl *ctl, int argc, char *argv[])
{
	char timeout[16];
	const char *params[] = { timeout };
	PGresult *res;
	long total = 0;

	(void)argv;
	if (argc != 1)
		ctl_usage(stderr, 2);
	ctl_config(ctl);
	snprintf(timeout, sizeof(timeout), "%d",
	    ctl->cfg.presence_timeout_seconds);
	service_print_value(ctl, "accounts:", "SELECT count(*) || ' ('"
	    " || count(*) FILTER (WHERE is_active) || ' active)' FROM account");
	service_print_value(ctl, "groups:", "SELECT count(*) || ' ('"
	    " || count(*) FILTER (WHERE is_active) || ' active)'"
	    " FROM chat_group");
	/* The events of the sends since midnight (UTC), which the event
	 * index finds at once: events stay sync.retention_days, at least a
	 * day. */
	service_print_value(ctl, "messages today:", "SELECT"
	    " count(*) FILTER (WHERE kind = 'message_created') || ' direct, '"
	    " || count(*) FILTER (WHERE kind = 'group_message') || ' in groups"
	    " (since 00:00 UTC)' FROM event"
	    " WHERE kind IN ('message_created', 'group_message')"
	    " AND created_at >= date_trunc('day', now(), 'UTC')");

	res = ctl_query(ctl, "SELECT n.node_id, count(c.connection_id),"
	    " round(extract(epoch FROM now() - n.heartbeat_at)),"
	    " n.heartbeat_at > now() - make_interval(secs => $1::int)"
	    " FROM presence_node n LEFT JOIN presence_connection c"
	    " USING (node_id) GROUP BY n.node_id ORDER BY n.node_id", 1,
	    params);
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 3), "t") == 0)
			total += strtol(PQgetvalue(res, i, 1), NULL, 10);
	printf("%-18s %ld on %d daemons\n", "connections:", total,
	    PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++)
		printf("  %-16s %s (heartbeat %s s ago%s)\n",
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), strcmp(PQgetvalue(res, i, 3),
		    "t") == 0 ? "" : ": dead, its connections do not count");
	PQclear(res);

	/* Event lag: what the daemons have not pushed yet to accounts that
	 * are connected, which should be nothing older than a moment. */
	service_print_value(ctl, "event lag:", "SELECT CASE WHEN count(*) = 0"
	    " THEN 'none undelivered to connected accounts' ELSE count(*) ||"
	    " ' undelivered to connected accounts, the oldest '"
	    " || round(extract(epoch FROM now() - min(m.created_at)), 1)"
	    " || ' s old' END FROM message m"
	    " WHERE m.receiver_id IN (SELECT account_id FROM presence_connection)"
	    "   AND m.read_at IS NULL AND NOT m.is_deleted AND m.status = 'sent'");
	service_print_value(ctl, "newest event:", "SELECT coalesce(round("
	    "extract(epoch FROM now() - max(created_at)), 1) || ' s ago',"
	    " 'none') FROM event");
	service_print_value(ctl, "notify queue:", "SELECT round(100 *"
	    " pg_notification_queue_usage()::numeric, 1) || '% used'");
	return 0;
}
