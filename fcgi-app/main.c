/*
 * chat-fcgi: the REST API as a FastCGI application. Each process serves
 * one request at a time over its own database connection and holds no
 * state between requests. Two ways to run it:
 * - spawned by the web server (lighttpd's bin-path) or by spawn-fcgi, with
 *   the listening socket as descriptor 0;
 * - on its own, `chat-fcgi -s /run/chat/fcgi.sock -w 4`: it opens the Unix
 *   socket (mode 0660: the web server must be in the socket's group) and
 *   supervises 4 worker processes (prefork.c), for Apache and nginx.
 *
 * Signals: SIGTERM, SIGINT or SIGUSR1 stop it after the request in hand.
 * SIGHUP is ignored: chat-fcgi writes its log to stderr only, so it has no
 * file to reopen, and nothing it reads may change while it runs.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "app.h"
#include "auth.h"
#include "log.h"
#include "metrics.h"
#include "password.h"
#include "prefork.h"
#include "replica.h"
#include "reply.h"
#include "request.h"
#include "router.h"

static volatile sig_atomic_t main_stopping;

static const struct option main_long_options[] = {
	{ "connect-query", no_argument, NULL, 'Q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* --help: to stdout, exit 0; a mistake: to stderr, exit 2. */
static void
main_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: chat-fcgi [-n] [-c config] [-s socket [-w workers]]\n"
	    "       chat-fcgi [-c config] --connect-query\n"
	    "       chat-fcgi --help | --version\n"
	    "  -c config   the configuration file (default: $CHAT_CONFIG, "
	    "else %s)\n"
	    "  -n          check the configuration and exit\n"
	    "  -s socket   open this Unix socket and supervise the workers "
	    "(Apache, nginx);\n"
	    "              without it, descriptor 0 is the FastCGI socket "
	    "(lighttpd, spawn-fcgi)\n"
	    "  -w workers  worker processes with -s (default 2)\n"
	    "  --connect-query  print the statement that gives a database "
	    "session its\n"
	    "              settings (the configuration's rate limits, no "
	    "JIT; PgBouncer's\n"
	    "              connect_query) and exit\n"
	    "Signals: SIGTERM stops it after the request in hand; SIGHUP is "
	    "ignored.\n",
	    CONFIG_DEFAULT_PATH);
	exit(status);
}

/* A signal only sets flags; accept() then fails with EINTR and we leave. */
static void
main_on_signal(int sig)
{
	(void)sig;
	main_stopping = 1;
	FCGX_ShutdownPending();
}

static void
main_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = main_on_signal;	/* no SA_RESTART: interrupt accept */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
}

static struct db_stmt main_session_stmt = DB_STMT("session_configure",
    RATELIMIT_NPARAMS, SESSION_CONFIGURE_SQL);
static struct db_stmt main_session_check_stmt = DB_STMT("session_configured",
    RATELIMIT_NPARAMS, SESSION_CONFIGURED_SQL);

/*
 * A new connection's session, to the primary or the replica (always a
 * session of its own): given its settings (the rate limits of
 * chat.conf, which sql/functions/limits.sql reads from it, and no JIT).
 * Behind a pooler in transaction mode (database.pooled) the pooler gives
 * them to each server connection (connect_query): a setting made here
 * would reach one server connection only, so they are checked instead,
 * on the server connection this statement lands on, and a pooler that
 * does not give them is named in the log at every connection.
 */
static void
main_db_session(struct db *db, void *arg)
{
	struct app *app = arg;
	PGresult *res;
	enum db_status st;

	if (db != &app->db || !app->cfg.db_pooled) {
		st = db_run(db, &main_session_stmt, app->ratelimit_params, &res);
		if (st == DB_FAILED)
			log_warnx("%s: setting the session: %s", db->label,
			    PQresultErrorMessage(res));
		PQclear(res);
		/* A replica that has not replayed the migration making the
		 * function yet: the primary serves until it has. */
		if (st == DB_FAILED && db != &app->db)
			db_close(db);
		return;
	}
	st = db_run(db, &main_session_check_stmt, app->ratelimit_params, &res);
	if (st == DB_FAILED)
		log_warnx("%s: checking the session: %s", db->label,
		    PQresultErrorMessage(res));
	else if (st == DB_OK && (PQntuples(res) != 1 ||
	    strcmp(PQgetvalue(res, 0, 0), "t") != 0)) {
		log_errorx("%s: pooled connections lack the session settings "
		    "of chat.conf (rate limits, no JIT): set connect_query in "
		    "pgbouncer.ini to the output of chat-fcgi --connect-query "
		    "(docs/DEPLOY.md)", db->label);
		metrics_db_error(METRICS_DB_LIMITS);
	}
	PQclear(res);
}

/* --connect-query: the statement, on stdout. */
static int
main_connect_query(const struct config *cfg)
{
	char sql[512];

	if (session_configure_text(cfg, sql, sizeof(sql)) == -1) {
		log_warnx("the session's settings do not fit a statement");
		return 1;
	}
	printf("%s\n", sql);
	return 0;
}

/* The secret files, looked at once a second at most, before a request
 * (auth.c reads them again at once for a token that fails). */
static void
main_secrets(struct app *app)
{
	static time_t checked;
	time_t now = time(NULL);

	if (now != checked) {
		checked = now;
		auth_secrets_reload(app);
	}
}

/* Seconds since start, on the monotonic clock. */
static double
main_since(const struct timespec *start)
{
	struct timespec now;

	if (clock_gettime(CLOCK_MONOTONIC, &now) == -1)
		return 0;
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* One request, counted in the metrics unless it asked for them. */
static void
main_serve(struct app *app, FCGX_Request *fcgx)
{
	struct timespec start;
	struct request rq;
	struct reply rp;

	clock_gettime(CLOCK_MONOTONIC, &start);
	reply_init(&rp);
	if (request_read(&rq, app, fcgx) == 0)
		router_dispatch(&rq, &rp);
	else
		reply_internal_error(&rp);
	reply_send(&rp, &rq);
	if (!rq.metrics)
		metrics_request(rq.route, rp.status, main_since(&start));
	reply_free(&rp);
	request_free(&rq);
}

/*
 * Whether the request's input has come to its end. The web servers send
 * that end with the request (libfcgi usually holds it already), unless
 * they stream a body chat-fcgi did not read; the wait for it is capped at
 * what libfcgi's own close would wait.
 */
static int
main_input_ended(FCGX_Request *fcgx)
{
	struct timeval cap = { .tv_sec = 2, .tv_usec = 0 };

	if (FCGX_HasSeenEOF(fcgx->in) == EOF)
		return 1;
	if (setsockopt(fcgx->ipcFd, SOL_SOCKET, SO_RCVTIMEO, &cap,
	    sizeof(cap)) == -1)
		return 0;
	return FCGX_GetChar(fcgx->in) == EOF && FCGX_GetError(fcgx->in) == 0;
}

/*
 * Ends the request. libfcgi's close first waits (up to 2 s) for the web
 * server to close its side, so that input left unread cannot turn into a
 * reset that loses the answer: one more sleep and wake-up per request.
 * The answer goes out first (closing a stream twice is harmless); then,
 * when the input is at its end, nothing is left to reset with and
 * FCGX_Detach() makes the close immediate. A connection the web server
 * keeps for further requests is not closed at all.
 */
static void
main_finish(FCGX_Request *fcgx)
{
	FCGX_FClose(fcgx->err);
	FCGX_FClose(fcgx->out);
	if (!fcgx->keepConnection && main_input_ended(fcgx))
		FCGX_Detach(fcgx);
	FCGX_Finish_r(fcgx);
}

int
main(int argc, char *argv[])
{
	struct app app;
	FCGX_Request fcgx;
	const char *path = config_default_path();
	const char *socket_path = NULL;
	char err[CONFIG_ERRLEN];
	int ch, check_only = 0, connect_query = 0, workers = 2, listen_fd = 0;

	while ((ch = getopt_long(argc, argv, "c:hns:w:", main_long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'Q':
			connect_query = 1;
			break;
		case 'h':
			main_usage(stdout, 0);
			break;
		case 'V':
			printf("chat-fcgi %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
			path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'w':
			workers = (int)strtol(optarg, NULL, 10);
			break;
		case 'n':
			check_only = 1;
			break;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);

	memset(&app, 0, sizeof(app));
	log_init("chat-fcgi", LOG_LEVEL_INFO);
	if (config_load(&app.cfg, path, err, sizeof(err)) == -1) {
		config_free(&app.cfg);
		fatalx("%s", err);
	}
	if (check_only) {
		config_free(&app.cfg);
		printf("configuration OK\n");
		return 0;
	}
	if (connect_query) {
		int rc = main_connect_query(&app.cfg);

		config_free(&app.cfg);
		return rc;
	}
	log_set_level(app.cfg.log_level);
	log_info("chat-fcgi %s starting", PACKAGE_VERSION);

	if (FCGX_Init() != 0)
		fatalx("cannot initialise libfcgi");
	if (socket_path != NULL) {
		mode_t old = umask(007);

		unlink(socket_path);
		listen_fd = FCGX_OpenSocket(socket_path, 128);
		umask(old);
		if (listen_fd < 0)
			fatal("cannot listen on %s", socket_path);
		if (prefork_run(workers) == 0) {
			unlink(socket_path);
			config_free(&app.cfg);
			return 0;
		}
	}
	main_signals();
	app.dummy_hash = password_hash("no account has this password");
	if (app.dummy_hash == NULL)
		fatalx("cannot hash a password: is yescrypt available?");
	metrics_open(app.cfg.metrics_fcgi_file);
	db_init(&app.db, "database", app.cfg.db_fcgi_conninfo[0] != '\0' ?
	    app.cfg.db_fcgi_conninfo : app.cfg.db_conninfo,
	    app.cfg.db_pooled ? DB_UNNAMED : 0);
	ratelimit_params(&app.cfg, app.ratelimit_buf, app.ratelimit_params);
	db_on_connect(&app.db, main_db_session, &app);
	replica_init(&app);
	db_on_connect(&app.replica, main_db_session, &app);
	FCGX_InitRequest(&fcgx, listen_fd, 0);

	while (!main_stopping && FCGX_Accept_r(&fcgx) >= 0) {
		main_secrets(&app);
		main_serve(&app, &fcgx);
		main_finish(&fcgx);
	}

	/* Free everything, so that leak checkers see a clean exit. */
	FCGX_Free(&fcgx, 1);
	db_close(&app.db);
	replica_close(&app);
	metrics_close();
	free(app.dummy_hash);
	config_free(&app.cfg);
	log_info("stopped");
	return 0;
}
