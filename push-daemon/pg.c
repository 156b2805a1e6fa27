#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "timer.h"

#define PG_CONNECT_POLL_US	(5 * LWS_US_PER_MS)
#define PG_BACKOFF_MIN_MS	100
#define PG_BACKOFF_MAX_MS	5000

enum pg_state {
	PG_DOWN,		/* waiting to reconnect */
	PG_CONNECTING,
	PG_UP,
};

struct pg_job {
	struct pg_job	*next;
	struct pg_stmt	*stmt;		/* NULL: sql is a plain command */
	char		*sql;
	int		 nparams;
	char		**params;
	pg_result_cb	 cb;
	void		*arg;
	PGresult	*result;	/* the last result seen */
	int		 preparing;	/* the prepare is in flight */
};

struct pg {
	const char		*name;		/* a literal */
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	char			*conninfo;
	const char *const	*setup;		/* run first on each connection */
	struct pg_owner		 owner;

	enum pg_state		 state;
	PGconn			*conn;
	struct lws		*wsi;		/* the adopted socket */
	unsigned int		 gen;		/* connection number */
	int			 backoff_ms;
	lws_sorted_usec_list_t	 timer;
	lws_sorted_usec_list_t	 flush_timer;	/* see pg_want_writable() */
	const char		*reset_why;	/* pg_reset(), a literal */

	struct pg_job		*head, *tail;	/* head is in flight if sent */
	int			 head_sent;
	int			 queued;
	int			 max_queued;	/* more are refused */

	struct pg_stmt		 wake_stmt;	/* pg_wake() */
	struct pg_stmt		 wake_others_stmt; /* pg_wake_others() */

	/* The round trips of its statements (metrics.c), each from the
	 * moment the head job went out. */
	struct promtext_histogram *round_trips;
	struct timespec		 sent_at;
};

/* Connection numbers, unique in the process (see struct pg_stmt). */
static unsigned int pg_generation;

static void pg_connect_start(struct pg *pg);
static void pg_kick(struct pg *pg);
static void pg_lost(struct pg *pg, const char *why);

static void
pg_job_free(struct pg_job *job)
{
	for (int i = 0; i < job->nparams; i++)
		free(job->params[i]);
	free(job->params);
	free(job->sql);
	PQclear(job->result);
	free(job);
}

/* Pops the head job and runs its callback with res (which it owns). */
static void
pg_job_done(struct pg *pg, PGresult *res)
{
	struct pg_job *job = pg->head;

	pg->head = job->next;
	if (pg->head == NULL)
		pg->tail = NULL;
	pg->head_sent = 0;
	pg->queued--;
	if (job->cb != NULL)
		job->cb(job->arg, res);
	else
		PQclear(res);
	/* job->result: a result seen before the connection was lost (the
	 * one a finished job passes is taken out of it beforehand). */
	pg_job_free(job);
}

static void
pg_schedule(struct pg *pg, void (*cb)(lws_sorted_usec_list_t *),
    lws_usec_t us)
{
	timer_schedule(pg->ctx, &pg->timer, cb, us);
}

static void
pg_flush_timer(lws_sorted_usec_list_t *sul)
{
	struct pg *pg = lws_container_of(sul, struct pg, flush_timer);

	if (pg->state == PG_UP && pg->wsi != NULL)
		lws_callback_on_writable(pg->wsi);
}

/*
 * Asks for a WRITEABLE callback, from a timer due at once rather than
 * directly: lws 4.1 takes a raw file's request for POLLOUT back right
 * after its WRITEABLE callback returns, so a request made in that callback
 * (a query still not all sent, or the next one sent from a result's
 * callback) was lost, and the rest of the query stayed in libpq's buffer
 * for good: a query larger than the socket's buffer (a batch of long
 * messages, 4 MB) stalled the connection for ever.
 */
static void
pg_want_writable(struct pg *pg)
{
	timer_schedule(pg->ctx, &pg->flush_timer, pg_flush_timer, 0);
}

/* Sends what libpq holds; 0, or -1 when the connection is lost. */
static int
pg_flush(struct pg *pg)
{
	switch (PQflush(pg->conn)) {
	case 0:
		return 0;
	case 1:
		pg_want_writable(pg);
		return 0;
	default:
		pg_lost(pg, PQerrorMessage(pg->conn));
		return -1;
	}
}

static void
pg_retry_timer(lws_sorted_usec_list_t *sul)
{
	struct pg *pg = lws_container_of(sul, struct pg, timer);

	pg_connect_start(pg);
}

/*
 * The connection is gone: fail every query, drop the socket from the loop
 * and try again later, waiting longer after each failure.
 */
static void
pg_lost(struct pg *pg, const char *why)
{
	if (pg->state == PG_UP)
		log_warnx("database: connection lost: %s", why);
	pg->state = PG_DOWN;
	timer_cancel(&pg->flush_timer);
	if (pg->wsi != NULL) {
		lws_set_opaque_user_data(pg->wsi, NULL);
		lws_set_timeout(pg->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT,
		    LWS_TO_KILL_ASYNC);
		pg->wsi = NULL;
	}
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	pg->conn = NULL;
	while (pg->head != NULL)
		pg_job_done(pg, NULL);
	pg->backoff_ms = pg->backoff_ms == 0 ? PG_BACKOFF_MIN_MS :
	    pg->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS :
	    pg->backoff_ms * 2;
	pg_schedule(pg, pg_retry_timer, (lws_usec_t)pg->backoff_ms *
	    LWS_US_PER_MS);
}

static void
pg_reset_timer(lws_sorted_usec_list_t *sul)
{
	struct pg *pg = lws_container_of(sul, struct pg, timer);

	if (pg->state == PG_UP)
		pg_lost(pg, pg->reset_why);
}

void
pg_reset(struct pg *pg, const char *why)
{
	if (pg->state != PG_UP)
		return;
	pg->reset_why = why;
	pg_schedule(pg, pg_reset_timer, 0);
}

static int
pg_adopt_socket(struct pg *pg)
{
	lws_sock_file_fd_type fd;

	fd.filefd = dup(PQsocket(pg->conn));
	if (fd.filefd < 0)
		return -1;
	/* lws closes the descriptor it adopts: hence the dup. */
	pg->wsi = lws_adopt_descriptor_vhost(pg->vhost, LWS_ADOPT_RAW_FILE_DESC,
	    fd, pg_protocol.name, NULL);
	if (pg->wsi == NULL) {
		close(fd.filefd);
		return -1;
	}
	lws_set_opaque_user_data(pg->wsi, pg);
	return 0;
}

/*
 * The connection's setup statements go first, in their order, before
 * anything the owner queues. One that cannot be queued (out of memory) is
 * left out; the connection still serves.
 */
static void
pg_queue_setup(struct pg *pg)
{
	struct pg_job **at = &pg->head;

	for (const char *const *sql = pg->setup; *sql != NULL; sql++) {
		struct pg_job *job = calloc(1, sizeof(*job));

		if (job == NULL || (job->sql = strdup(*sql)) == NULL) {
			free(job);
			continue;
		}
		job->next = *at;
		*at = job;
		at = &job->next;
		if (job->next == NULL)
			pg->tail = job;
		pg->queued++;
	}
}

static void
pg_connected_now(struct pg *pg)
{

	if (PQsetnonblocking(pg->conn, 1) != 0 || pg_adopt_socket(pg) == -1) {
		pg_lost(pg, "cannot watch the socket");
		return;
	}
	pg->state = PG_UP;
	pg->gen = ++pg_generation;
	pg->backoff_ms = 0;
	log_info("database: connected");
	pg_queue_setup(pg);
	if (pg->owner.on_connect != NULL)
		pg->owner.on_connect(pg->owner.arg);
	pg_kick(pg);
}

static void
pg_connect_poll(lws_sorted_usec_list_t *sul)
{
	struct pg *pg = lws_container_of(sul, struct pg, timer);

	switch (PQconnectPoll(pg->conn)) {
	case PGRES_POLLING_OK:
		pg_connected_now(pg);
		return;
	case PGRES_POLLING_FAILED:
		pg->state = PG_UP;	/* so that pg_lost logs why */
		pg_lost(pg, PQerrorMessage(pg->conn));
		return;
	default:
		pg_schedule(pg, pg_connect_poll, PG_CONNECT_POLL_US);
	}
}

static void
pg_connect_start(struct pg *pg)
{
	pg->state = PG_CONNECTING;
	pg->conn = PQconnectStart(pg->conninfo);
	if (pg->conn == NULL || PQstatus(pg->conn) == CONNECTION_BAD) {
		pg_lost(pg, pg->conn != NULL ? PQerrorMessage(pg->conn) :
		    "out of memory");
		return;
	}
	PQsetNoticeProcessor(pg->conn, log_db_notice, NULL);
	pg_schedule(pg, pg_connect_poll, PG_CONNECT_POLL_US);
}

/* Sends the head job (or its prepare) when nothing is in flight. */
static void
pg_kick(struct pg *pg)
{
	struct pg_job *job = pg->head;
	int ok;

	if (pg->state != PG_UP || job == NULL || pg->head_sent)
		return;
	if (job->stmt == NULL)
		ok = PQsendQuery(pg->conn, job->sql);
	else if (job->stmt->prepared_gen != pg->gen) {
		job->preparing = 1;
		ok = PQsendPrepare(pg->conn, job->stmt->name, job->stmt->sql,
		    job->stmt->nparams, NULL);
	} else
		ok = PQsendQueryPrepared(pg->conn, job->stmt->name,
		    job->nparams, (const char *const *)job->params, NULL, NULL,
		    0);
	if (!ok) {
		pg_lost(pg, PQerrorMessage(pg->conn));
		return;
	}
	pg->head_sent = 1;
	clock_gettime(CLOCK_MONOTONIC, &pg->sent_at);
	pg_flush(pg);
}

/* The head job's answer is in: its round trip into the histogram. */
static void
pg_round_trip_over(struct pg *pg)
{
	struct timespec now;

	if (pg->round_trips == NULL ||
	    clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return;
	promtext_observe(pg->round_trips,
	    (double)(now.tv_sec - pg->sent_at.tv_sec) +
	    (double)(now.tv_nsec - pg->sent_at.tv_nsec) / 1e9);
}

static void
pg_drain_notifies(struct pg *pg)
{
	PGnotify *n;

	while (pg->conn != NULL && (n = PQnotifies(pg->conn)) != NULL) {
		if (pg->owner.on_notify != NULL)
			pg->owner.on_notify(pg->owner.arg, n->relname,
			    n->extra);
		PQfreemem(n);
	}
}

/* Collects finished results; a job ends when libpq returns NULL. */
static void
pg_collect(struct pg *pg)
{
	PGresult *res;

	while (pg->state == PG_UP && pg->head_sent && !PQisBusy(pg->conn)) {
		struct pg_job *job = pg->head;

		res = PQgetResult(pg->conn);
		if (res != NULL) {
			PQclear(job->result);
			job->result = res;
			continue;
		}
		res = job->result;
		job->result = NULL;
		pg_round_trip_over(pg);
		if (job->preparing) {
			job->preparing = 0;
			pg->head_sent = 0;
			if (PQresultStatus(res) == PGRES_COMMAND_OK)
				job->stmt->prepared_gen = pg->gen;
			else {
				log_errorx("database: prepare %s: %s",
				    job->stmt->name, PQresultErrorMessage(res));
				pg_job_done(pg, res);
				res = NULL;
			}
			PQclear(res);
		} else {
			if (PQresultStatus(res) != PGRES_TUPLES_OK &&
			    PQresultStatus(res) != PGRES_COMMAND_OK)
				log_warnx("database: %s: %s", job->stmt != NULL ?
				    job->stmt->name : job->sql,
				    PQresultErrorMessage(res));
			pg_job_done(pg, res);
		}
		pg_kick(pg);
	}
}

/* Handles what libpq has read: results, notifications, a closed link. */
static int
pg_process(struct pg *pg)
{
	pg_collect(pg);
	pg_drain_notifies(pg);
	if (pg->state == PG_UP && PQstatus(pg->conn) != CONNECTION_OK) {
		pg_lost(pg, "connection closed");
		return -1;
	}
	return 0;
}

static int
pg_on_readable(struct pg *pg)
{
	if (!PQconsumeInput(pg->conn)) {
		pg_lost(pg, PQerrorMessage(pg->conn));
		return -1;
	}
	return pg_process(pg);
}

/*
 * libpq reads what the server sent while it waits to write (so that
 * neither side blocks the other), and the socket then has nothing left
 * to wake us: that input is handled here.
 */
static int
pg_on_writeable(struct pg *pg)
{
	if (pg_flush(pg) == -1)
		return -1;
	return pg_process(pg);
}

static int
pg_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct pg *pg = lws_get_opaque_user_data(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (pg == NULL)
			return -1;
		return pg_on_readable(pg);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (pg == NULL || pg->state != PG_UP)
			return 0;
		return pg_on_writeable(pg);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (pg != NULL && pg->wsi == wsi) {
			pg->wsi = NULL;
			pg_lost(pg, "socket closed");
		}
		return 0;
	default:
		return 0;
	}
}

const struct lws_protocols pg_protocol = {
	"chat-pg-raw", pg_callback, 0, 0, 0, NULL, 0
};

struct pg *
pg_new(struct lws_context *ctx, struct lws_vhost *vhost, const char *name,
    const char *conninfo, const char *const *setup,
    const struct pg_owner *owner)
{
	struct pg *pg = calloc(1, sizeof(*pg));

	if (pg == NULL || (pg->conninfo = strdup(conninfo)) == NULL) {
		free(pg);
		return NULL;
	}
	pg->ctx = ctx;
	pg->vhost = vhost;
	pg->setup = setup;
	pg->owner = *owner;
	pg->max_queued = PG_MAX_QUEUED;
	pg->name = name;
	pg->round_trips = metrics_db_histogram(name);
	pg->wake_stmt = (struct pg_stmt)PG_STMT("pg_wake", 1,
	    "SELECT wake_push_daemons($1)");
	pg->wake_others_stmt = (struct pg_stmt)PG_STMT("pg_wake_others", 2,
	    "SELECT wake_other_daemons($1, $2)");
	pg_connect_start(pg);
	return pg;
}

void
pg_free(struct pg *pg)
{
	if (pg == NULL)
		return;
	timer_cancel(&pg->timer);
	timer_cancel(&pg->flush_timer);
	/* Callbacks see the connection lost; their queries are refused. */
	pg->state = PG_DOWN;
	while (pg->head != NULL)
		pg_job_done(pg, NULL);
	if (pg->wsi != NULL)
		lws_set_opaque_user_data(pg->wsi, NULL);
	if (pg->conn != NULL)
		PQfinish(pg->conn);
	free(pg->conninfo);
	free(pg);
}

void
pg_set_max_queued(struct pg *pg, int max)
{
	pg->max_queued = max;
}

int
pg_queued(const struct pg *pg)
{
	return pg != NULL ? pg->queued : 0;
}

const char *
pg_name(const struct pg *pg)
{
	return pg != NULL ? pg->name : "none";
}

int
pg_connected(const struct pg *pg)
{
	return pg != NULL && pg->state == PG_UP;
}

void
pg_ignore(void *arg, PGresult *res)
{
	(void)arg;
	PQclear(res);
}

int
pg_wake(struct pg *pg, const char *accounts)
{
	const char *params[] = { accounts };

	return pg_query(pg, &pg->wake_stmt, params, pg_ignore, NULL);
}

int
pg_wake_others(struct pg *pg, const char *node, const char *accounts)
{
	const char *params[] = { node, accounts };

	return pg_query(pg, &pg->wake_others_stmt, params, pg_ignore, NULL);
}

int
pg_query(struct pg *pg, struct pg_stmt *stmt, const char *const *params,
    pg_result_cb cb, void *arg)
{
	struct pg_job *job;

	if (!pg_connected(pg) || pg->queued >= pg->max_queued)
		return -1;
	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return -1;
	job->stmt = stmt;
	job->cb = cb;
	job->arg = arg;
	if (stmt->nparams > 0) {
		job->params = calloc((size_t)stmt->nparams, sizeof(char *));
		if (job->params == NULL) {
			free(job);
			return -1;
		}
		job->nparams = stmt->nparams;
		for (int i = 0; i < stmt->nparams; i++) {
			if (params[i] != NULL &&
			    (job->params[i] = strdup(params[i])) == NULL) {
				pg_job_free(job);
				return -1;
			}
		}
	}
	if (pg->tail != NULL)
		pg->tail->next = job;
	else
		pg->head = job;
	pg->tail = job;
	pg->queued++;
	pg_kick(pg);
	return 0;
}

