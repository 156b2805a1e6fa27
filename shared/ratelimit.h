/*
 * Rate limits of CONTRACT §12 as token buckets: a bucket holds at most
 * burst tokens, gains rate tokens a second, and each request takes one.
 * Counts that every process must share (sends, mark reads, failed logins,
 * registrations) live in PostgreSQL (sql/functions/limits.sql), whose
 * database session is given the configured rates at connection start
 * (SESSION_CONFIGURE_SQL); the push daemon keeps buckets in memory too,
 * to refuse a flood before it reaches the database.
 */
#ifndef CHAT_RATELIMIT_H
#define CHAT_RATELIMIT_H

#include "config.h"

struct ratelimit_bucket {
	double	 tokens;
	double	 at;		/* seconds, of a monotonic clock */
	int	 used;		/* 0: never taken from (full) */
};

/*
 * Takes a token at time now: returns 0 when granted, else the seconds
 * until a token is there (nothing taken).
 */
double	ratelimit_take(struct ratelimit_bucket *b, double rate, double burst,
	    double now);
/* Whether b is full again at now (as good as a bucket never used). */
int	ratelimit_full(const struct ratelimit_bucket *b, double rate, double burst,
	    double now);

/* The seconds of a monotonic clock. */
double	ratelimit_now(void);

/* Retry-After of REST: whole seconds, rounded up, at least 1. */
long	ratelimit_retry_after_header(double seconds);

/*
 * Gives the database session its settings: the configured limits, and no
 * JIT (sql/functions/limits.sql, session_configure).
 */
#define SESSION_CONFIGURE_SQL \
	"SELECT session_configure($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
/*
 * Whether the session has them (the same parameters): behind a pooler in
 * transaction mode, chat-fcgi checks that the server connections got them
 * from the pooler.
 */
#define SESSION_CONFIGURED_SQL \
	"SELECT session_configured($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
#define RATELIMIT_NPARAMS		10
#define RATELIMIT_PARAM_SIZE	32

/* The parameters of SESSION_CONFIGURE_SQL, as text in buf, for cfg. */
void	ratelimit_params(const struct config *cfg,
	    char buf[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE],
	    const char *params[RATELIMIT_NPARAMS]);

/*
 * SESSION_CONFIGURE_SQL with cfg's values in place of its parameters,
 * into buf: the statement a pooler runs on each server connection
 * (PgBouncer's connect_query), which cannot pass parameters. The values
 * are numbers formatted here, never text from elsewhere. Returns 0, or -1
 * when it does not fit.
 */
int	session_configure_text(const struct config *cfg, char *buf,
	    size_t size);

#endif
