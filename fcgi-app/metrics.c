#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "detail.h"
#include "log.h"
#include "metrics.h"
#include "promtext.h"
#include "router.h"

/* Room in the file: routes (the first for requests that match none)
 * and statuses (the last for those reply.c does not name). */
#define METRICS_ROUTES_MAX	96
#define METRICS_STATUSES_MAX	32
#define METRICS_MAGIC		"chat-fcgi 1"

/*
 * The shared file. Its header tells the layout: a build whose routes,
 * statuses or buckets differ makes a file of its own (metrics_open), and
 * the processes of the previous build keep theirs until they exit.
 */
struct metrics_file {
	char		 magic[16];
	uint32_t	 size, nroutes, nstatuses, nbuckets;
	uint64_t	 requests[METRICS_ROUTES_MAX][METRICS_STATUSES_MAX];
	uint64_t	 latency[METRICS_ROUTES_MAX][PROMTEXT_NBUCKETS + 1];
	uint64_t	 latency_us[METRICS_ROUTES_MAX];
	uint64_t	 db_errors[METRICS_DB_NERRORS];
	uint64_t	 reads[METRICS_READ_NKINDS];
	uint64_t	 replica_polls;
};

#define METRICS_HEADER_SIZE	offsetof(struct metrics_file, requests)

static const char *const metrics_db_kinds[METRICS_DB_NERRORS] = {
	[METRICS_DB_CONNECT] = "connect",
	[METRICS_DB_LOST] = "lost",
	[METRICS_DB_STATEMENT] = "statement",
	[METRICS_DB_LIMITS] = "limits",
};

static const char *const metrics_read_kinds[METRICS_READ_NKINDS] = {
	[METRICS_READ_REPLICA] = "replica",
	[METRICS_READ_UNREACHABLE] = "primary_replica_unreachable",
	[METRICS_READ_BEHIND] = "primary_replica_behind",
};

static struct metrics_file *metrics_map;

/* The header this build writes. */
static void
metrics_header(struct metrics_file *h)
{
	memset(h, 0, METRICS_HEADER_SIZE);
	memcpy(h->magic, METRICS_MAGIC, sizeof(METRICS_MAGIC));
	h->size = sizeof(struct metrics_file);
	h->nroutes = (uint32_t)router_count() + 1;
	h->nstatuses = (uint32_t)reply_nstatuses() + 1;
	h->nbuckets = PROMTEXT_NBUCKETS + 1;
}

/*
 * Opens path and holds its lock: the file now at path (one that another
 * process replaced meanwhile is opened again). -1 with errno.
 */
static int
metrics_lock(const char *path)
{
	struct stat held, now;
	int fd;

	for (int i = 0; i < 3; i++) {
		if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
			return -1;
		if (flock(fd, LOCK_EX) == -1 || fstat(fd, &held) == -1) {
			close(fd);
			return -1;
		}
		if (stat(path, &now) == 0 && now.st_dev == held.st_dev &&
		    now.st_ino == held.st_ino)
			return fd;
		close(fd);
	}
	errno = EAGAIN;
	return -1;
}

int
metrics_open(const char *path)
{
	struct metrics_file want, *map;
	struct stat st;
	int fd = -1;

	if (path == NULL || path[0] == '\0')
		return -1;
	if (router_count() + 1 > METRICS_ROUTES_MAX ||
	    reply_nstatuses() + 1 > METRICS_STATUSES_MAX) {
		log_errorx("metrics: more routes or statuses than %s holds",
		    path);
		return -1;
	}
	metrics_header(&want);
	for (int i = 0; i < 2; i++) {
		if ((fd = metrics_lock(path)) == -1 || fstat(fd, &st) == -1)
			goto fail;
		if (st.st_size == 0 &&
		    ftruncate(fd, (off_t)sizeof(struct metrics_file)) == -1)
			goto fail;
		if (st.st_size == 0 || st.st_size == (off_t)sizeof(*map)) {
			map = mmap(NULL, sizeof(*map), PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
			if (map == MAP_FAILED)
				goto fail;
			if (st.st_size == 0)
				memcpy(map, &want, METRICS_HEADER_SIZE);
			if (memcmp(map, &want, METRICS_HEADER_SIZE) == 0) {
				/* Unlocked by name: the mapping keeps the
				 * open file, and so its lock, past close. */
				flock(fd, LOCK_UN);
				close(fd);
				metrics_map = map;
				return 0;
			}
			munmap(map, sizeof(*map));
		}
		/* Another build's: a file of our own in its place. */
		unlink(path);
		close(fd);
		fd = -1;
	}
	errno = EEXIST;
fail:
	log_warn("metrics: %s: no metrics from this process", path);
	if (fd != -1)
		close(fd);
	return -1;
}

void
metrics_close(void)
{
	if (metrics_map != NULL)
		munmap(metrics_map, sizeof(*metrics_map));
	metrics_map = NULL;
}

static void
metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static uint64_t
metrics_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void
metrics_request(int route, int status, double seconds)
{
	struct metrics_file *m = metrics_map;

	if (m == NULL || route < 0 || (size_t)route > router_count())
		return;
	if (seconds < 0)
		seconds = 0;
	metrics_add(&m->requests[route][reply_status_index(status)], 1);
	metrics_add(&m->latency[route][promtext_bucket(seconds)], 1);
	metrics_add(&m->latency_us[route], (uint64_t)(seconds * 1e6));
}

void
metrics_db_error(enum metrics_db_error kind)
{
	if (metrics_map != NULL && kind < METRICS_DB_NERRORS)
		metrics_add(&metrics_map->db_errors[kind], 1);
}

void
metrics_read(enum metrics_read where)
{
	if (metrics_map != NULL && where < METRICS_READ_NKINDS)
		metrics_add(&metrics_map->reads[where], 1);
}

void
metrics_replica_poll(void)
{
	if (metrics_map != NULL)
		metrics_add(&metrics_map->replica_polls, 1);
}

/* The method and route labels of route (0: none matched). */
static void
metrics_route_labels(int route, const char **method, char *path,
    size_t size)
{
	const char *below;

	if (route == 0) {
		*method = "other";
		snprintf(path, size, "none");
		return;
	}
	router_route_name((size_t)route - 1, method, &below);
	snprintf(path, size, "%s%s", REQUEST_PREFIX, below);
}

static void
metrics_write(const struct metrics_file *m, struct promtext *pt)
{
	int nroutes = (int)router_count() + 1;
	int nstatuses = (int)reply_nstatuses() + 1;

	promtext_family(pt, "chat_fcgi_requests_total", "counter",
	    "REST requests answered, by route and status (route none: no "
	    "route matched).");
	for (int r = 0; r < nroutes; r++) {
		const char *method;
		char path[128];

		metrics_route_labels(r, &method, path, sizeof(path));
		for (int s = 0; s < nstatuses; s++) {
			uint64_t n = metrics_get(&m->requests[r][s]);
			char code[16];
			const char *labels[] = { "method", method, "route",
			    path, "code", code, NULL };

			if (n == 0)
				continue;
			if (s < nstatuses - 1)
				snprintf(code, sizeof(code), "%d",
				    reply_status_at(s));
			else
				snprintf(code, sizeof(code), "other");
			promtext_count(pt, "chat_fcgi_requests_total", labels,
			    n);
		}
	}

	promtext_family(pt, "chat_fcgi_request_duration_seconds",
	    "histogram", "Time from a request's start to its answer, by "
	    "route.");
	for (int r = 0; r < nroutes; r++) {
		const char *method;
		char path[128];
		uint64_t counts[PROMTEXT_NBUCKETS + 1], total = 0;

		metrics_route_labels(r, &method, path, sizeof(path));
		for (int b = 0; b <= PROMTEXT_NBUCKETS; b++)
			total += counts[b] = metrics_get(&m->latency[r][b]);
		if (total > 0) {
			const char *labels[] = { "method", method, "route",
			    path, NULL };

			promtext_histogram(pt,
			    "chat_fcgi_request_duration_seconds", labels,
			    counts, (double)metrics_get(&m->latency_us[r]) /
			    1e6);
		}
	}

	promtext_family(pt, "chat_fcgi_database_errors_total", "counter",
	    "Database failures, the replica's included, by kind: connect "
	    "(no connection made), lost (in a statement), statement (one "
	    "that failed), limits (a pooled connection without the session "
	    "settings of chat.conf).");
	for (int k = 0; k < METRICS_DB_NERRORS; k++) {
		const char *labels[] = { "kind", metrics_db_kinds[k], NULL };

		promtext_count(pt, "chat_fcgi_database_errors_total", labels,
		    metrics_get(&m->db_errors[k]));
	}

	promtext_family(pt, "chat_fcgi_replica_reads_total", "counter",
	    "History and search reads with a replica configured, by where "
	    "they were served: replica, or the primary because the replica "
	    "was unreachable (or failed) or had not caught up in time.");
	for (int k = 0; k < METRICS_READ_NKINDS; k++) {
		const char *labels[] = { "served", metrics_read_kinds[k],
		    NULL };

		promtext_count(pt, "chat_fcgi_replica_reads_total", labels,
		    metrics_get(&m->reads[k]));
	}

	promtext_family(pt, "chat_fcgi_replica_polls_total", "counter",
	    "Looks at the replica's replay position before a read: one a "
	    "read when it has caught up, more while it is behind.");
	promtext_count(pt, "chat_fcgi_replica_polls_total", NULL,
	    metrics_get(&m->replica_polls));
}

void
metrics_reply(struct request *rq, struct reply *rp)
{
	struct promtext pt;

	if (!rq->from_loopback || strcmp(rq->method, "GET") != 0) {
		reply_error(rp, 404, DETAIL_NOT_FOUND);
		return;
	}
	if (metrics_map == NULL) {
		reply_error(rp, 503, "Metrics unavailable");
		return;
	}
	promtext_init(&pt);
	metrics_write(metrics_map, &pt);
	if (pt.failed) {
		promtext_free(&pt);
		reply_internal_error(rp);
		return;
	}
	reply_text(rp, 200, PROMTEXT_CONTENT_TYPE, pt.buf);
}
