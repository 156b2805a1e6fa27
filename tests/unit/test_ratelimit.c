/*
 * Unit tests of shared/ratelimit.c: the token bucket, Retry-After, and
 * the statement a pooler runs to give a session the limits.
 */
#include <string.h>

#include "check.h"
#include "ratelimit.h"

/* A burst of 60 at 20 a second: 60 at once, then one every 50 ms. */
static void
test_burst_then_rate(void)
{
	struct ratelimit_bucket b = { 0 };
	double wait;

	for (int i = 0; i < 60; i++)
		CHECK(ratelimit_take(&b, 20, 60, 100.0) == 0);
	wait = ratelimit_take(&b, 20, 60, 100.0);
	CHECK(wait > 0.049 && wait < 0.051);
	/* A refusal takes nothing: the wait shrinks as time passes. */
	wait = ratelimit_take(&b, 20, 60, 100.025);
	CHECK(wait > 0.024 && wait < 0.026);
	CHECK(ratelimit_take(&b, 20, 60, 100.051) == 0);
	CHECK(ratelimit_take(&b, 20, 60, 100.051) > 0);
}

static void
test_refills_to_burst_only(void)
{
	struct ratelimit_bucket b = { 0 };

	CHECK(ratelimit_full(&b, 10, 10, 0));
	CHECK(ratelimit_take(&b, 10, 10, 0) == 0);
	CHECK(!ratelimit_full(&b, 10, 10, 0));
	CHECK(ratelimit_full(&b, 10, 10, 1000));
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < 10; i++)
		CHECK(ratelimit_take(&b, 10, 10, 1000) == 0);
	CHECK(ratelimit_take(&b, 10, 10, 1000) > 0);
}

static void
test_retry_after_header(void)
{
	CHECK(ratelimit_retry_after_header(0.001) == 1);
	CHECK(ratelimit_retry_after_header(1) == 1);
	CHECK(ratelimit_retry_after_header(1.2) == 2);
	CHECK(ratelimit_retry_after_header(90) == 90);
	CHECK(ratelimit_retry_after_header(-3) == 1);
}

/*
 * The defaults' statement, with the values ratelimit_params() passes as
 * parameters, in their order; -1 for a buffer it does not fit.
 */
static void
test_configure_text(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN], sql[512];

	CHECK(config_defaults(&cfg, err, sizeof(err)) == 0);
	CHECK(session_configure_text(&cfg, sql, sizeof(sql)) == 0);
	CHECK(strcmp(sql, "SELECT session_configure(20, 60, 50, 200, "
	    "0.0111111111, 10, 0.111111111, 100, 0.00555555556, 20)") == 0);
	CHECK(session_configure_text(&cfg, sql, 40) == -1);
	CHECK(session_configure_text(&cfg, sql, strlen(
	    "SELECT session_configure(20, 60, 50, 200, 0.0111111111, 10, "
	    "0.111111111, 100, 0.00555555556, 20)")) == -1);
	config_free(&cfg);
}

int
main(void)
{
	test_burst_then_rate();
	test_refills_to_burst_only();
	test_retry_after_header();
	test_configure_text();
	return check_done("test_ratelimit");
}
