/*
 * chat-fcgi's metrics (docs/OPERATIONS.md, "Metrics"), counted without a
 * round trip to the database: every process of a deployment (the workers
 * of `chat-fcgi -s`, or the processes lighttpd or spawn-fcgi start) maps
 * one file, [metrics] fcgi_file, and adds to its counters atomically. Any
 * of them answers GET /metrics with what they hold, to a client on
 * loopback only: the web server's configurations refuse the path from
 * elsewhere too.
 */
#ifndef CHAT_METRICS_H
#define CHAT_METRICS_H

#include "reply.h"
#include "request.h"

/* The path of the metrics, outside the API. */
#define METRICS_PATH	"/metrics"

enum metrics_db_error {
	METRICS_DB_CONNECT,	/* no connection could be made */
	METRICS_DB_LOST,	/* the connection was lost in a statement */
	METRICS_DB_STATEMENT,	/* a statement (or its prepare) failed */
	/* A pooled connection without chat.conf's session settings
	 * (main.c: the rate limits, no JIT). */
	METRICS_DB_LIMITS,
	METRICS_DB_NERRORS
};

/* Where a read the replica may serve was served (replica.h). */
enum metrics_read {
	METRICS_READ_REPLICA,		/* the replica, caught up */
	METRICS_READ_UNREACHABLE,	/* the primary: replica down or failing */
	METRICS_READ_BEHIND,		/* the primary: replica not caught up */
	METRICS_READ_NKINDS
};

/*
 * Maps the file at path (created when absent, made anew when it holds
 * the counters of another build). Returns 0, or -1 (logged): the process
 * then counts nothing, and /metrics answers 503.
 */
int	metrics_open(const char *path);
void	metrics_close(void);

/* A request answered with status after seconds; route: rq->route. */
void	metrics_request(int route, int status, double seconds);
void	metrics_db_error(enum metrics_db_error kind);
void	metrics_read(enum metrics_read where);
/* A look at the replica's replay position before a read (replica.c). */
void	metrics_replica_poll(void);

/* GET /metrics: the text of the counters; 404 unless from loopback. */
void	metrics_reply(struct request *rq, struct reply *rp);

#endif
