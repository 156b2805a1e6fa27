#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "request.h"
#include "utf8.h"

static const char *
request_param(struct request *rq, const char *name)
{
	const char *v = FCGX_GetParam(name, rq->fcgx->envp);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Whether s[0..len) holds an ASCII control character (U+0000-U+001F,
 * U+007F); *nul tells whether one is a NUL.
 */
static int
request_has_control(const char *s, size_t len, int *nul)
{
	int found = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			found = 1;
			if (c == '\0') {
				*nul = 1;
				break;
			}
		}
	}
	return found;
}

/* Notes the first control character of the target, where it is. */
static void
request_note_control(struct request *rq, const char *where,
    const char *field, int nul)
{
	if (rq->control_in != NULL)
		return;
	rq->control_in = where;
	rq->control_field = field;
	rq->control_nul = nul;
}

/* Splits the path below /api/v1; a trailing slash adds no segment. */
static int
request_split_path(struct request *rq, const char *path, size_t len)
{
	const char *end = path + len;
	size_t plen = strlen(REQUEST_PREFIX);

	if (len < plen || memcmp(path, REQUEST_PREFIX, plen) != 0 ||
	    (len > plen && path[plen] != '/'))
		return 0;
	path += plen;
	while (path < end) {		/* path points at a '/' */
		const char *seg = path + 1;
		const char *slash, *stop;

		if (seg == end)
			break;		/* the trailing slash */
		slash = memchr(seg, '/', (size_t)(end - seg));
		stop = slash != NULL ? slash : end;
		if (rq->nsegments == REQUEST_MAX_SEGMENTS)
			return 0;	/* deeper than any route */
		rq->segments[rq->nsegments] = form_decode(seg,
		    (size_t)(stop - seg), 0, NULL);
		if (rq->segments[rq->nsegments] == NULL)
			return -1;
		rq->nsegments++;
		path = stop;
	}
	rq->in_api = 1;
	return 0;
}

/*
 * Whether s[0..len), percent-decoded ('+' as a space when plus), holds a
 * control character: 1 (*nul set when one is U+0000), 0, or -1 when
 * memory ran out.
 */
static int
request_decoded_has_control(const char *s, size_t len, int plus, int *nul)
{
	size_t declen;
	int found;
	char *decoded = form_decode(s, len, plus, &declen);

	if (decoded == NULL)
		return -1;
	found = request_has_control(decoded, declen, nul);
	free(decoded);
	return found;
}

/*
 * Checks the path, whole and decoded, for control characters, so that
 * "<id>%00" is refused rather than read as "<id>", at any depth.
 */
static int
request_check_path(struct request *rq, const char *path, size_t len)
{
	int nul = 0, found = request_decoded_has_control(path, len, 0, &nul);

	if (found == -1)
		return -1;
	if (found)
		request_note_control(rq, "path", NULL, nul);
	return 0;
}

/*
 * Checks the query string, whole and decoded, for control characters
 * (a name holding one is dropped by form_parse, so the whole string is
 * the place to look); names the field whose value holds one, if any,
 * when its name can be echoed in the JSON answer: text with no control.
 */
static int
request_check_query(struct request *rq, const char *query, size_t len)
{
	int nul = 0, found = request_decoded_has_control(query, len, 1, &nul);

	if (found <= 0)
		return found;
	for (int i = 0; i < rq->query.nfields; i++) {
		const struct form_field *f = &rq->query.fields[i];
		int field_nul = 0;

		if (request_has_control(f->name, strlen(f->name), &field_nul) ||
		    !utf8_valid(f->name, strlen(f->name)))
			continue;
		if (request_has_control(f->value, f->value_len, &field_nul)) {
			request_note_control(rq, "query", f->name, field_nul);
			return 0;
		}
	}
	request_note_control(rq, "query", NULL, nul);
	return 0;
}

static int
request_read_target(struct request *rq)
{
	const char *uri = request_param(rq, "REQUEST_URI");
	const char *query;
	size_t pathlen;

	if (uri == NULL || strlen(uri) > REQUEST_MAX_URI)
		return 0;
	query = strchr(uri, '?');
	pathlen = query != NULL ? (size_t)(query - uri) : strlen(uri);
	if (request_check_path(rq, uri, pathlen) == -1 ||
	    request_split_path(rq, uri, pathlen) == -1)
		return -1;
	if (query != NULL && (form_parse(&rq->query, query + 1,
	    strlen(query + 1)) == -1 ||
	    request_check_query(rq, query + 1, strlen(query + 1)) == -1))
		return -1;
	return 0;
}

/*
 * Reads the body the web server announced in CONTENT_LENGTH. A body over
 * the limit is read and thrown away, so that the answer is a clean 413.
 */
static int
request_read_body(struct request *rq)
{
	const char *cl = request_param(rq, "CONTENT_LENGTH");
	size_t max = (size_t)rq->app->cfg.max_body_bytes;
	unsigned long long declared = 0;
	char *end;
	int n;

	if (cl != NULL) {
		errno = 0;
		declared = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0')
			declared = (unsigned long long)max + 1;
	}
	if (declared > max) {
		char sink[4096];

		rq->body_too_large = 1;
		while (FCGX_GetStr(sink, sizeof(sink), rq->fcgx->in) > 0)
			;
		declared = 0;
	}
	rq->body = malloc((size_t)declared + 1);
	if (rq->body == NULL)
		return -1;
	while (rq->body_len < declared) {
		n = FCGX_GetStr(rq->body + rq->body_len,
		    (int)(declared - rq->body_len), rq->fcgx->in);
		if (n <= 0)
			break;
		rq->body_len += (size_t)n;
	}
	rq->body[rq->body_len] = '\0';
	return 0;
}

int
request_read(struct request *rq, struct app *app, FCGX_Request *fcgx)
{
	memset(rq, 0, sizeof(*rq));
	rq->app = app;
	rq->fcgx = fcgx;
	rq->method = request_param(rq, "REQUEST_METHOD");
	if (rq->method == NULL)
		rq->method = "GET";
	rq->content_type = request_param(rq, "CONTENT_TYPE");
	rq->authorization = request_param(rq, "HTTP_AUTHORIZATION");
	rq->origin = request_param(rq, "HTTP_ORIGIN");
	/* Present but empty is a 422, not absent. */
	rq->idempotency_key = FCGX_GetParam("HTTP_IDEMPOTENCY_KEY",
	    fcgx->envp);
	rq->cors_method = request_param(rq,
	    "HTTP_ACCESS_CONTROL_REQUEST_METHOD");
	rq->cors_headers = request_param(rq,
	    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS");
	clientaddr_get(app->cfg.trusted_proxies, request_param(rq, "REMOTE_ADDR"),
	    request_param(rq, "HTTP_X_FORWARDED_FOR"), rq->client_addr);
	if (request_read_target(rq) == -1 || request_read_body(rq) == -1) {
		log_warnx("request: out of memory");
		return -1;
	}
	return 0;
}

void
request_free(struct request *rq)
{
	for (int i = 0; i < rq->nsegments; i++)
		free(rq->segments[i]);
	form_free(&rq->query);
	free(rq->body);
	memset(rq, 0, sizeof(*rq));
}
