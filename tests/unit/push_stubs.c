/* The stubs of push_stubs.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "delivery.h"
#include "events.h"
#include "hub.h"
#include "pg.h"
#include "push_stubs.h"
#include "timer.h"

#define STUB_QUERIES_MAX	64
#define STUB_PARAMS_MAX		4

struct stub_query {
	const char	*name;
	char		*params[STUB_PARAMS_MAX];
	int		 nparams;
	pg_result_cb	 cb;
	void		*arg;
};

static struct stub_query stub_queries[STUB_QUERIES_MAX];
static int stub_nqueries;
int stub_connected = 1;

int
pg_query(struct pg *pg, struct pg_stmt *stmt, const char *const *params,
    pg_result_cb cb, void *arg)
{
	struct stub_query *q;

	(void)pg;
	if (!stub_connected || stub_nqueries == STUB_QUERIES_MAX)
		return -1;
	q = &stub_queries[stub_nqueries++];
	q->name = stmt->name;
	q->nparams = stmt->nparams < STUB_PARAMS_MAX ? stmt->nparams :
	    STUB_PARAMS_MAX;
	for (int i = 0; i < q->nparams; i++)
		q->params[i] = params[i] != NULL ? strdup(params[i]) : NULL;
	q->cb = cb;
	q->arg = arg;
	return 0;
}

/* Recorded as a query named "pg_wake", as the real one prepares it. */
int
pg_wake(struct pg *pg, const char *accounts)
{
	static struct pg_stmt wake = PG_STMT("pg_wake", 1, "");
	const char *params[] = { accounts };

	return pg_query(pg, &wake, params, pg_ignore, NULL);
}

/* Likewise, "pg_wake_others". */
int
pg_wake_others(struct pg *pg, const char *node, const char *accounts)
{
	static struct pg_stmt wake = PG_STMT("pg_wake_others", 2, "");
	const char *params[] = { node, accounts };

	return pg_query(pg, &wake, params, pg_ignore, NULL);
}

int
pg_connected(const struct pg *pg)
{
	(void)pg;
	return stub_connected;
}

void
pg_ignore(void *arg, PGresult *res)
{
	(void)arg;
	PQclear(res);
}

void
pg_reset(struct pg *pg, const char *why)
{
	(void)pg;
	(void)why;
}

static int
stub_find(const char *name)
{
	for (int i = 0; i < stub_nqueries; i++)
		if (strcmp(stub_queries[i].name, name) == 0)
			return i;
	return -1;
}

int
stub_pending(const char *name)
{
	int n = 0;

	for (int i = 0; i < stub_nqueries; i++)
		n += strcmp(stub_queries[i].name, name) == 0;
	return n;
}

const char *
stub_param(const char *name, int i)
{
	int k = stub_find(name);

	if (k == -1 || i >= stub_queries[k].nparams)
		return NULL;
	return stub_queries[k].params[i];
}

static void
stub_drop(int k)
{
	for (int i = 0; i < stub_queries[k].nparams; i++)
		free(stub_queries[k].params[i]);
	memmove(&stub_queries[k], &stub_queries[k + 1],
	    (size_t)(stub_nqueries - k - 1) * sizeof(stub_queries[0]));
	stub_nqueries--;
}

int
stub_answer(const char *name, PGresult *res)
{
	int k = stub_find(name);
	pg_result_cb cb;
	void *arg;

	if (k == -1) {
		PQclear(res);
		return -1;
	}
	cb = stub_queries[k].cb;
	arg = stub_queries[k].arg;
	stub_drop(k);		/* first: the callback may query again */
	cb(arg, res);
	return 0;
}

void
stub_lose_all(void)
{
	int connected = stub_connected;

	stub_connected = 0;
	while (stub_nqueries > 0)
		stub_answer(stub_queries[0].name, NULL);
	stub_connected = connected;
}

PGresult *
stub_result(int ncols, int nrows, const char *const *values)
{
	PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc cols[16];
	char names[16][8];

	if (res == NULL || ncols > 16)
		abort();
	memset(cols, 0, sizeof(cols));
	for (int c = 0; c < ncols; c++) {
		snprintf(names[c], sizeof(names[c]), "c%d", c);
		cols[c].name = names[c];
		cols[c].typlen = -1;
	}
	if (!PQsetResultAttrs(res, ncols, cols))
		abort();
	for (int r = 0; r < nrows; r++)
		for (int c = 0; c < ncols; c++) {
			const char *v = values[r * ncols + c];

			if (!PQsetvalue(res, r, c, (char *)v,
			    v != NULL ? (int)strlen(v) : -1))
				abort();
		}
	return res;
}

void
timer_schedule(struct lws_context *ctx, lws_sorted_usec_list_t *sul,
    sul_cb_t cb, lws_usec_t us)
{
	(void)ctx;
	(void)sul;
	(void)cb;
	(void)us;
}

void
timer_cancel(lws_sorted_usec_list_t *sul)
{
	(void)sul;
}

int
lws_callback_on_writable(struct lws *wsi)
{
	(void)wsi;
	return 1;
}

int
lws_rx_flow_control(struct lws *wsi, int enable)
{
	(void)wsi;
	(void)enable;
	return 0;
}

struct lws_context *
lws_get_context(const struct lws *wsi)
{
	(void)wsi;
	return NULL;
}

int
lws_write(struct lws *wsi, unsigned char *buf, size_t len,
    enum lws_write_protocol protocol)
{
	struct stub_wsi *w = (struct stub_wsi *)(void *)wsi;

	(void)protocol;
	if (w->n == STUB_FRAMES_MAX)
		abort();
	if ((w->frames[w->n] = strndup((const char *)buf, len)) == NULL)
		abort();
	w->n++;
	return (int)len;
}

void
lws_close_reason(struct lws *wsi, enum lws_close_status status,
    unsigned char *buf, size_t len)
{
	struct stub_wsi *w = (struct stub_wsi *)(void *)wsi;

	(void)status;
	(void)buf;
	(void)len;
	w->closed = 1;
}

void
stub_write_all(struct session *s)
{
	while (s->queue.head != NULL && s->state != SESSION_CLOSING)
		if (session_writeable(s) == -1)
			break;
}

int
stub_got(const struct stub_wsi *w, const char *const *expect)
{
	int n = 0, same;

	while (expect[n] != NULL)
		n++;
	same = n == w->n;
	for (int i = 0; same && i < n; i++)
		same = strcmp(w->frames[i], expect[i]) == 0;
	if (!same) {
		fprintf(stderr, "got %d frames:\n", w->n);
		for (int i = 0; i < w->n; i++)
			fprintf(stderr, "  %s\n", w->frames[i]);
	}
	return same;
}

void
stub_wsi_clear(struct stub_wsi *w)
{
	for (int i = 0; i < w->n; i++)
		free(w->frames[i]);
	memset(w, 0, sizeof(*w));
}

struct session *
stub_session_open(struct hub *hub, const char *account, struct stub_wsi *w)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL)
		abort();
	memcpy(s->account_id, account, UUID_TEXT_SIZE);
	s->hub = hub;
	session_open(s, STUB_WSI(w), &hub->sessions, ++hub->next_session_id);
	return s;
}

struct session *
stub_session_welcomed(struct hub *hub, const char *account,
    struct stub_wsi *w)
{
	struct session *s = stub_session_open(hub, account, w);

	session_set_state(s, SESSION_REGISTERING);
	session_set_state(s, SESSION_REGISTERED);
	session_set_state(s, SESSION_WELCOMING);
	session_set_state(s, SESSION_WELCOMED);
	return s;
}

void
stub_session_close(struct session *s, struct stub_wsi *w)
{
	session_set_state(s, SESSION_CLOSED);
	free(s);
	stub_wsi_clear(w);
}

void
stub_hub_init(struct hub *hub, struct config *cfg,
    void (*read_over)(struct hub *))
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->push_max_queue_bytes = 1 << 20;
	cfg->push_max_per_account = 5;
	if (hub_init(hub, cfg, "node-1") == -1 ||
	    events_init(hub, read_over) == -1)
		abort();
}

PGresult *
stub_horizon_at_100(void)
{
	const char *const row[] = { "100", "100.100.0" };

	return stub_result(2, 1, row);
}

PGresult *
stub_read_nothing(void)
{
	const char *const row[] = { "100", NULL, NULL, NULL, NULL, NULL, "f",
	    NULL, NULL, "100.100.0" };

	return stub_result(10, 1, row);
}

void
stub_hub_free(struct hub *hub)
{
	stub_lose_all();
	events_free();
	hub_free(hub);
	delivery_free();
}
