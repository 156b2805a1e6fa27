#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ratelimit.h"

static double
ratelimit_fill(const struct ratelimit_bucket *b, double rate, double burst,
    double now)
{
	double t;

	if (!b->used)
		return burst;
	t = b->tokens + rate * (now > b->at ? now - b->at : 0);
	return t < burst ? t : burst;
}

double
ratelimit_take(struct ratelimit_bucket *b, double rate, double burst, double now)
{
	double t = ratelimit_fill(b, rate, burst, now);

	b->used = 1;
	b->at = now;
	if (t >= 1) {
		b->tokens = t - 1;
		return 0;
	}
	b->tokens = t;
	return (1 - t) / rate;
}

int
ratelimit_full(const struct ratelimit_bucket *b, double rate, double burst,
    double now)
{
	return ratelimit_fill(b, rate, burst, now) >= burst;
}

double
ratelimit_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

long
ratelimit_retry_after_header(double seconds)
{
	long whole;

	if (!(seconds > 1))
		return 1;
	if (seconds > 86400 * 7)
		return 86400 * 7;
	whole = (long)seconds;
	return whole < seconds ? whole + 1 : whole;
}

static void
ratelimit_param(char buf[RATELIMIT_PARAM_SIZE], double value)
{
	snprintf(buf, RATELIMIT_PARAM_SIZE, "%.9g", value);
}

void
ratelimit_params(const struct config *cfg,
    char buf[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE],
    const char *params[RATELIMIT_NPARAMS])
{
	double login_window = cfg->limits_login_failure_window_seconds;
	double reg_window = cfg->limits_registration_window_seconds;

	/* In session_configure's order: send, read, login, login_addr,
	 * register, each its rate a second and its burst. */
	ratelimit_param(buf[0], cfg->limits_send_per_second);
	ratelimit_param(buf[1], cfg->limits_send_burst);
	ratelimit_param(buf[2], cfg->limits_read_per_second);
	ratelimit_param(buf[3], cfg->limits_read_burst);
	ratelimit_param(buf[4], cfg->limits_login_failures_per_account /
	    login_window);
	ratelimit_param(buf[5], cfg->limits_login_failures_per_account);
	ratelimit_param(buf[6], cfg->limits_login_failures_per_address /
	    login_window);
	ratelimit_param(buf[7], cfg->limits_login_failures_per_address);
	ratelimit_param(buf[8], cfg->limits_registrations_per_address /
	    reg_window);
	ratelimit_param(buf[9], cfg->limits_registrations_per_address);
	for (int i = 0; i < RATELIMIT_NPARAMS; i++)
		params[i] = buf[i];
}

int
session_configure_text(const struct config *cfg, char *buf, size_t size)
{
	char values[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE];
	const char *params[RATELIMIT_NPARAMS], *sql = SESSION_CONFIGURE_SQL;
	size_t used = 0;
	int n;

	ratelimit_params(cfg, values, params);
	while (*sql != '\0') {
		if (*sql == '$' && isdigit((unsigned char)sql[1])) {
			char *end;
			long i = strtol(sql + 1, &end, 10);

			if (i < 1 || i > RATELIMIT_NPARAMS)
				return -1;
			n = snprintf(buf + used, size - used, "%s",
			    params[i - 1]);
			sql = end;
		} else
			n = snprintf(buf + used, size - used, "%c", *sql++);
		if (n < 0 || (size_t)n >= size - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}
