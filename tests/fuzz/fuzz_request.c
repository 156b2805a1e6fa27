/*
 * One REST request from the web server to the answer chat-fcgi writes:
 * request_read() (the request target: path split and percent-decoded,
 * query string, control characters; the body), router_dispatch() (the
 * CORS Origin and preflight, route matching, the Authorization header,
 * each handler's checks of its query and body, fields.c) and
 * reply_send(). No database runs: the caller's account is taken as
 * active (auth.c's lookup, answered here), and a handler that gets past
 * its checks finds the database out of reach and answers 503. No input
 * is answered 500 (CONTRACT: bad input gets its error, never a 500).
 *
 * The input is lines: method, request target, Content-Type,
 * Authorization, Origin, Access-Control-Request-Method,
 * Access-Control-Request-Headers, Content-Length (empty: the body's
 * length), then the body. An Authorization of "Bearer ACCESS" becomes a
 * valid access token, so that the routes behind one are reached too.
 */
#include <err.h>
#include <time.h>

#include <json-c/json.h>

#include "app.h"
#include "fuzz.h"
#include "log.h"
#include "reply.h"
#include "request.h"
#include "router.h"
#include "token.h"
#include "utf8.h"

#define FUZZ_SECRET	"fuzz-secret-0123456789abcdef0123456789"
#define FUZZ_ACCOUNT	"0f8fad5b-d9cb-469f-a165-70867728950e"

static const char *const fuzz_vars[] = {
	"REQUEST_METHOD", "REQUEST_URI", "CONTENT_TYPE", "HTTP_AUTHORIZATION",
	"HTTP_ORIGIN", "HTTP_ACCESS_CONTROL_REQUEST_METHOD",
	"HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "CONTENT_LENGTH",
};
#define FUZZ_NVARS	(sizeof(fuzz_vars) / sizeof(fuzz_vars[0]))

static struct app fuzz_app;
static char fuzz_bearer[1024];

/*
 * db_run(), linked with --wrap=db_run: auth.c's lookup of the caller's
 * account finds it active, so that the routes behind an access token
 * reach their handlers; every other statement goes to the real db_run(),
 * which finds no server.
 */
enum db_status	__real_db_run(struct db *, struct db_stmt *,
		    const char *const *, PGresult **);
enum db_status	__wrap_db_run(struct db *, struct db_stmt *,
		    const char *const *, PGresult **);

enum db_status
__wrap_db_run(struct db *db, struct db_stmt *stmt, const char *const *params,
    PGresult **res)
{
	PGresAttDesc col = { .name = "is_active", .typlen = -1 };

	if (strcmp(stmt->name, "auth_active") != 0)
		return __real_db_run(db, stmt, params, res);
	if ((*res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK)) == NULL ||
	    !PQsetResultAttrs(*res, 1, &col) || !PQsetvalue(*res, 0, 0, "t", 1))
		abort();
	return DB_OK;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config *cfg = &fuzz_app.cfg;
	char *token, err[256];

	(void)argc;
	(void)argv;
	log_init("fuzz_request", LOG_LEVEL_ERROR);
	if (config_defaults(cfg, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	free(cfg->cors_origins);
	cfg->cors_origins = strdup("http://localhost:5173 https://chat.example");
	memcpy(cfg->jwt_secret, FUZZ_SECRET, sizeof(FUZZ_SECRET) - 1);
	cfg->jwt_secret_len = sizeof(FUZZ_SECRET) - 1;
	/* No server listens there: every query but auth_active (above)
	 * answers DB_UNAVAILABLE. */
	db_init(&fuzz_app.db, "database", "host=/nonexistent/chat-fuzz "
	    "dbname=chat connect_timeout=1", 0);
	/* Valid for a year from now: long enough for any run. */
	token = token_sign(cfg->jwt_secret, cfg->jwt_secret_len, FUZZ_ACCOUNT,
	    TOKEN_ACCESS, (long)time(NULL), 365L * 24 * 3600);
	if (cfg->cors_origins == NULL || token == NULL)
		abort();
	snprintf(fuzz_bearer, sizeof(fuzz_bearer), "Bearer %s", token);
	free(token);
	return 0;
}

/* What reply_send() writes, in memory. */
struct fuzz_out {
	char	*buf;
	size_t	 cap;
};

static void
fuzz_out_grow(FCGX_Stream *stream, int do_close)
{
	struct fuzz_out *o = stream->data;
	size_t used = (size_t)(stream->wrNext - (unsigned char *)o->buf);

	(void)do_close;
	o->cap *= 2;
	if ((o->buf = realloc(o->buf, o->cap)) == NULL)
		abort();
	stream->wrNext = (unsigned char *)o->buf + used;
	stream->stop = (unsigned char *)o->buf + o->cap;
}

/* The body's stream ends where the input does. */
static void
fuzz_in_end(FCGX_Stream *stream)
{
	stream->isClosed = 1;
}

/* "NAME=value" */
static char *
fuzz_var(const char *name, const char *value, size_t len)
{
	size_t nlen = strlen(name);
	char *var = malloc(nlen + 1 + len + 1);

	if (var == NULL)
		abort();
	memcpy(var, name, nlen);
	var[nlen] = '=';
	memcpy(var + nlen + 1, value, len);
	var[nlen + 1 + len] = '\0';
	return var;
}

/* The answer: CRLF-ended header lines with no other CR or LF, a blank
 * line, then a JSON body of the announced length. */
static void
fuzz_check_answer(const char *out, size_t len)
{
	const char *end = memmem(out, len, "\r\n\r\n", 4), *cl, *body;
	struct json_object *obj;
	char *text;

	FUZZ_CHECK(end != NULL && strncmp(out, "Status: ", 8) == 0);
	FUZZ_CHECK(strncmp(out, "Status: 500", 11) != 0);
	for (const char *p = out; p < end + 2; p++)
		if (*p == '\r')
			FUZZ_CHECK(p[1] == '\n');
		else if (*p == '\n')
			FUZZ_CHECK(p > out && p[-1] == '\r');
	body = end + 4;
	if ((cl = memmem(out, (size_t)(end - out), "\r\nContent-Length: ",
	    18)) == NULL) {
		FUZZ_CHECK(body == out + len);	/* 204 */
		return;
	}
	FUZZ_CHECK(strtoul(cl + 18, NULL, 10) == (size_t)(out + len - body));
	FUZZ_CHECK(utf8_valid(body, (size_t)(out + len - body)));
	text = fuzz_text((const uint8_t *)body, (size_t)(out + len - body));
	obj = json_tokener_parse(text);
	FUZZ_CHECK(obj != NULL);
	json_object_put(obj);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char *env[FUZZ_NVARS + 2] = { NULL }, *body, lenbuf[24];
	size_t nenv = 0;
	int cl_from_body = 0;
	FCGX_Stream in = { 0 }, out = { 0 };
	struct fuzz_out o;
	FCGX_Request fcgx = { 0 };
	struct request rq;
	struct reply rp;

	for (size_t i = 0; i < FUZZ_NVARS; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;
		size_t len = (size_t)(stop - p);

		if (i == 3 && len == 13 && memcmp(p, "Bearer ACCESS", 13) == 0)
			env[nenv++] = fuzz_var(fuzz_vars[i], fuzz_bearer,
			    strlen(fuzz_bearer));
		else if (len > 0)
			env[nenv++] = fuzz_var(fuzz_vars[i], p, len);
		else if (strcmp(fuzz_vars[i], "CONTENT_LENGTH") == 0)
			cl_from_body = 1;
		p = nl != NULL ? nl + 1 : end;
	}
	if (cl_from_body) {
		snprintf(lenbuf, sizeof(lenbuf), "%zu", (size_t)(end - p));
		env[nenv++] = fuzz_var("CONTENT_LENGTH", lenbuf,
		    strlen(lenbuf));
	}
	body = fuzz_text((const uint8_t *)p, (size_t)(end - p));

	in.rdNext = in.stopUnget = (unsigned char *)body;
	in.stop = in.wrNext = (unsigned char *)body + (end - p);
	in.isReader = 1;
	in.fillBuffProc = fuzz_in_end;
	o.cap = 4096;
	if ((o.buf = malloc(o.cap)) == NULL)
		abort();
	out.wrNext = (unsigned char *)o.buf;
	out.stop = (unsigned char *)o.buf + o.cap;
	out.emptyBuffProc = fuzz_out_grow;
	out.data = &o;
	fcgx.in = &in;
	fcgx.out = &out;
	fcgx.envp = env;

	if (request_read(&rq, &fuzz_app, &fcgx) == 0) {
		reply_init(&rp);
		router_dispatch(&rq, &rp);
		reply_send(&rp, &rq);
		reply_free(&rp);
		fuzz_check_answer(o.buf,
		    (size_t)(out.wrNext - (unsigned char *)o.buf));
		request_free(&rq);
	}
	for (size_t i = 0; i < nenv; i++)
		free(env[i]);
	free(o.buf);
	free(body);
	return 0;
}
