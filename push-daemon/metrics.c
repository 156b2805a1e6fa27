#include <stdio.h>
#include <string.h>

#include "metrics.h"

/* Frame types told apart; a daemon makes about 30. */
#define METRICS_TYPES_MAX	64
#define METRICS_TYPE_SIZE	32
/* Pairs of label values of a counter family; more are not counted. */
#define METRICS_SET_MAX		64
#define METRICS_DB_MAX		4

/* A counter by up to two label values, found by name: for rare events
 * (refusals) and the few request types. */
struct metrics_set {
	size_t		 n;
	struct {
		char		 a[METRICS_TYPE_SIZE];
		char		 b[16];
		uint64_t	 value;
	}		 e[METRICS_SET_MAX];
};

static struct {
	/* Frame types, by the index frames keep; 0: "other". */
	char			 types[METRICS_TYPES_MAX][METRICS_TYPE_SIZE];
	size_t			 ntypes;
	uint64_t		 out[METRICS_TYPES_MAX];

	struct metrics_set	 in;		/* type */
	struct metrics_set	 refused;	/* type, code */
	struct metrics_set	 handshakes;	/* reason, status */

	struct {
		const char		 *name;
		struct promtext_histogram h;
	}			 db[METRICS_DB_MAX];
	size_t			 ndb;
	struct promtext_histogram lag;
} metrics = { .types = { "other" }, .ntypes = 1 };

static void
metrics_set_add(struct metrics_set *set, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->e[i].a, a) == 0 && strcmp(set->e[i].b, b) == 0)
			break;
	if (i == set->n) {
		if (set->n == METRICS_SET_MAX ||
		    strlen(a) >= sizeof(set->e[i].a) ||
		    strlen(b) >= sizeof(set->e[i].b))
			return;
		memcpy(set->e[i].a, a, strlen(a) + 1);
		memcpy(set->e[i].b, b, strlen(b) + 1);
		set->n++;
	}
	set->e[i].value++;
}

static void
metrics_set_write(struct promtext *pt, const struct metrics_set *set,
    const char *name, const char *a, const char *b)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *labels[] = { a, set->e[i].a, b, set->e[i].b, NULL };

		if (b == NULL)
			labels[2] = NULL;
		promtext_count(pt, name, labels, set->e[i].value);
	}
}

uint8_t
metrics_frame_type(const char *text, size_t len)
{
	const char *p = text, *end = text + len, *name;
	size_t n, i;

	if (len < 8 || memcmp(p, "{\"type\"", 7) != 0)
		return 0;
	for (p += 7; p < end && *p == ' '; p++)
		;
	if (p == end || *p++ != ':')
		return 0;
	for (; p < end && *p == ' '; p++)
		;
	if (p == end || *p++ != '"')
		return 0;
	name = p;
	while (p < end && ((*p >= 'a' && *p <= 'z') || *p == '_'))
		p++;
	n = (size_t)(p - name);
	if (p == end || *p != '"' || n == 0 || n >= METRICS_TYPE_SIZE)
		return 0;
	for (i = 1; i < metrics.ntypes; i++)
		if (strncmp(metrics.types[i], name, n) == 0 &&
		    metrics.types[i][n] == '\0')
			return (uint8_t)i;
	if (metrics.ntypes == METRICS_TYPES_MAX)
		return 0;
	memcpy(metrics.types[i], name, n);
	metrics.types[i][n] = '\0';
	metrics.ntypes++;
	return (uint8_t)i;
}

void
metrics_frame_out(uint8_t type)
{
	if (type < METRICS_TYPES_MAX)
		metrics.out[type]++;
}

void
metrics_frame_in(const char *type)
{
	metrics_set_add(&metrics.in, type, "");
}

void
metrics_request_refused(const char *type, int code)
{
	char text[16];

	snprintf(text, sizeof(text), "%d", code);
	metrics_set_add(&metrics.refused, type, text);
}

void
metrics_handshake_refused(const char *reason, unsigned int status)
{
	char text[16];

	snprintf(text, sizeof(text), "%u", status);
	metrics_set_add(&metrics.handshakes, reason, text);
}

struct promtext_histogram *
metrics_db_histogram(const char *connection)
{
	size_t i;

	for (i = 0; i < metrics.ndb; i++)
		if (strcmp(metrics.db[i].name, connection) == 0)
			return &metrics.db[i].h;
	if (metrics.ndb == METRICS_DB_MAX)
		return NULL;
	metrics.db[i].name = connection;
	metrics.ndb++;
	return &metrics.db[i].h;
}

void
metrics_event_lag(double seconds)
{
	promtext_observe(&metrics.lag, seconds);
}

void
metrics_write(struct promtext *pt)
{
	promtext_family(pt, "chat_push_frames_in_total", "counter",
	    "Request frames received, by type (invalid: not JSON, or no "
	    "known type).");
	metrics_set_write(pt, &metrics.in, "chat_push_frames_in_total",
	    "type", NULL);

	promtext_family(pt, "chat_push_frames_out_total", "counter",
	    "Frames written to connections, by type.");
	for (size_t i = 0; i < metrics.ntypes; i++) {
		const char *labels[] = { "type", metrics.types[i], NULL };

		if (i > 0 || metrics.out[0] > 0)
			promtext_count(pt, "chat_push_frames_out_total", labels,
			    metrics.out[i]);
	}

	promtext_family(pt, "chat_push_requests_refused_total", "counter",
	    "Requests answered with an error frame, by request type and "
	    "code (429: past a rate limit or too many waiting).");
	metrics_set_write(pt, &metrics.refused,
	    "chat_push_requests_refused_total", "type", "code");

	promtext_family(pt, "chat_push_handshakes_refused_total", "counter",
	    "WebSocket handshakes refused, by reason and HTTP status "
	    "(1008: closed at once after the handshake).");
	metrics_set_write(pt, &metrics.handshakes,
	    "chat_push_handshakes_refused_total", "reason", "status");

	promtext_family(pt, "chat_push_database_round_trip_seconds",
	    "histogram", "Time from sending a statement to its result, by "
	    "database connection.");
	for (size_t i = 0; i < metrics.ndb; i++) {
		const char *labels[] = { "connection", metrics.db[i].name,
		    NULL };

		promtext_histogram(pt, "chat_push_database_round_trip_seconds",
		    labels, metrics.db[i].h.counts, metrics.db[i].h.sum);
	}

	promtext_family(pt, "chat_push_event_lag_seconds", "histogram",
	    "Age of each event when the event reader read it (the "
	    "database's clock).");
	promtext_histogram(pt, "chat_push_event_lag_seconds", NULL,
	    metrics.lag.counts, metrics.lag.sum);
}
