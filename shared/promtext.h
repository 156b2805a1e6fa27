/*
 * The Prometheus text exposition format (version 0.0.4), written into a
 * growing buffer: a family's HELP and TYPE lines, then its samples. Both
 * programs build their metrics with it (docs/OPERATIONS.md, "Metrics").
 * Names and labels are the callers' own text, never a client's: label
 * values are escaped all the same.
 */
#ifndef CHAT_PROMTEXT_H
#define CHAT_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

/* The Content-Type of a scrape's answer. */
#define PROMTEXT_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/*
 * The upper bounds (seconds) of the buckets of every histogram of
 * durations: a round trip to the database, a REST request, an event's
 * age when read. A histogram counts PROMTEXT_NBUCKETS + 1 buckets, the
 * last one for what is above them all (+Inf), each on its own (not
 * cumulated: the writer adds them up).
 */
#define PROMTEXT_NBUCKETS	14
extern const double promtext_bounds[PROMTEXT_NBUCKETS];

struct promtext_histogram {
	uint64_t	 counts[PROMTEXT_NBUCKETS + 1];
	double		 sum;
};

/* The bucket of seconds: 0 .. PROMTEXT_NBUCKETS. */
int	promtext_bucket(double seconds);
void	promtext_observe(struct promtext_histogram *h, double seconds);

/* The text of a scrape; failed once memory ran out (or past the cap). */
struct promtext {
	char	*buf;
	size_t	 len, cap;
	int	 failed;
};

#define PROMTEXT_MAX	(4 * 1024 * 1024)

void	promtext_init(struct promtext *pt);
void	promtext_free(struct promtext *pt);

/* # HELP and # TYPE (counter, gauge or histogram) of family name. */
void	promtext_family(struct promtext *pt, const char *name,
	    const char *type, const char *help);
/*
 * A sample: name{labels} value. labels is NULL, or pairs of name and
 * value (NULL-terminated), e.g. { "type", "send_message", NULL }.
 */
void	promtext_count(struct promtext *pt, const char *name,
	    const char *const *labels, uint64_t value);
void	promtext_value(struct promtext *pt, const char *name,
	    const char *const *labels, double value);
/*
 * The samples of a histogram: name_bucket{labels,le} (cumulated), then
 * name_sum and name_count. counts: PROMTEXT_NBUCKETS + 1, as above.
 */
void	promtext_histogram(struct promtext *pt, const char *name,
	    const char *const *labels, const uint64_t *counts, double sum);

#endif
