/*
 * Unit tests of the metrics' text (shared/promtext.c) and of the push
 * daemon's frame types (push-daemon/metrics.c).
 */
#include <string.h>

#include "check.h"
#include "metrics.h"
#include "promtext.h"

static void
test_buckets(void)
{
	CHECK(promtext_bucket(0) == 0);
	CHECK(promtext_bucket(0.0005) == 0);
	CHECK(promtext_bucket(0.0006) == 1);
	CHECK(promtext_bucket(10) == PROMTEXT_NBUCKETS - 1);
	CHECK(promtext_bucket(10.5) == PROMTEXT_NBUCKETS);
}

static void
test_text(void)
{
	struct promtext pt;
	struct promtext_histogram h = { { 0 }, 0 };
	const char *labels[] = { "type", "a\"b\\c\nd", NULL };

	promtext_init(&pt);
	promtext_family(&pt, "x_total", "counter", "Things.");
	promtext_count(&pt, "x_total", labels, 3);
	promtext_count(&pt, "x_total", NULL, 18446744073709551615ULL);
	promtext_observe(&h, 0.002);
	promtext_observe(&h, 20);
	promtext_histogram(&pt, "y_seconds", NULL, h.counts, h.sum);
	CHECK(!pt.failed);
	CHECK(strncmp(pt.buf, "# HELP x_total Things.\n"
	    "# TYPE x_total counter\n"
	    "x_total{type=\"a\\\"b\\\\c\\nd\"} 3\n"
	    "x_total 18446744073709551615\n", strlen("# HELP x_total Things.\n"
	    "# TYPE x_total counter\n"
	    "x_total{type=\"a\\\"b\\\\c\\nd\"} 3\n"
	    "x_total 18446744073709551615\n")) == 0);
	/* Cumulated buckets, then sum and count. */
	CHECK(strstr(pt.buf, "y_seconds_bucket{le=\"0.001\"} 0\n") != NULL);
	CHECK(strstr(pt.buf, "y_seconds_bucket{le=\"0.0025\"} 1\n") != NULL);
	CHECK(strstr(pt.buf, "y_seconds_bucket{le=\"10\"} 1\n") != NULL);
	CHECK(strstr(pt.buf, "y_seconds_bucket{le=\"+Inf\"} 2\n") != NULL);
	CHECK(strstr(pt.buf, "y_seconds_sum 20.002\n") != NULL);
	CHECK(strstr(pt.buf, "y_seconds_count 2\n") != NULL);
	promtext_free(&pt);
}

#define TYPE_OF(text)	metrics_frame_type(text, strlen(text))

/* The first member names the type, in each program's way of writing. */
static void
test_frame_types(void)
{
	const char *pg = "{\"type\" : \"new_message\", \"message\" : {}}";
	const char *jsonc = "{\"type\":\"error\",\"code\":429}";
	const char *ours = "{\"type\": \"connection_established\"}";
	uint8_t a = metrics_frame_type(pg, strlen(pg));

	CHECK(a != 0);
	CHECK(metrics_frame_type(pg, strlen(pg)) == a);
	CHECK(metrics_frame_type(jsonc, strlen(jsonc)) != 0);
	CHECK(metrics_frame_type(jsonc, strlen(jsonc)) != a);
	CHECK(metrics_frame_type(ours, strlen(ours)) != 0);
	/* Not a type we write: counted as other. */
	CHECK(TYPE_OF("{\"code\": 1, \"type\": \"x\"}") == 0);
	CHECK(TYPE_OF("{\"type\": \"Bad\"}") == 0);
	CHECK(TYPE_OF("{\"type\": \"cut") == 0);
	CHECK(TYPE_OF("{\"type\"") == 0);
}

int
main(void)
{
	test_buckets();
	test_text();
	test_frame_types();
	return check_done("test_metrics");
}
