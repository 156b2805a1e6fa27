/*
 * chat-push: the push daemon. It holds the WebSocket connections of
 * /api/v1/chat/ws/chat (the web server proxies the upgrade here), reads the
 * event stream of PostgreSQL, and pushes frames to the connections
 * concerned. One libwebsockets event loop runs everything: the sockets, the
 * database connection (non-blocking libpq, pg.c), timers and signals
 * (a signalfd in the loop). Several daemons, each with its own node id,
 * may serve one database.
 *
 * Signals: SIGTERM or SIGINT drains (closes every connection with 1001 and
 * leaves the online set), SIGHUP reloads the configuration. The log goes
 * to stderr only: there is no log file to reopen.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <ev.h>
#include <libwebsockets.h>

#include "delivery.h"
#include "events.h"
#include "frames.h"
#include "groups.h"
#include "hub.h"
#include "log.h"
#include "pg.h"
#include "presence.h"
#include "scrape.h"
#include "timer.h"
#include "uuid.h"
#include "welcome.h"
#include "ws.h"

#define MAIN_TICK_US		(1000 * LWS_US_PER_MS)
/* How long a drain may take before the daemon exits anyway. */
#define MAIN_DRAIN_TICKS	5

static struct {
	struct hub		 hub;
	struct config		 cfg;
	const char		*config_path;
	int			 stop;
	int			 left_online_set;	/* drain: presence done */
	int			 drain_ticks;
	unsigned int		 ticks;
	lws_sorted_usec_list_t	 tick;
	lws_retry_bo_t		 retry;
	struct ev_loop		*loop;		/* NULL: lws's own poll() */
} m;

/*
 * The event reader's connection listens, and keeps one plan for each of
 * its statements: push_stream_read and push_message_frames are SQL
 * functions inlined into them, whose generic plans PostgreSQL estimates
 * dearer than a plan made for the call's values (a range of xids, an
 * array of ids), so by default it planned every read anew (inlining the
 * function again): a quarter of the database's time under REST sends.
 * Their generic plans are the plans made for the values (index scans;
 * checked with EXPLAIN), and the PL/pgSQL functions they call look rows
 * up by key.
 *
 * No connection of the daemon compiles its plans (JIT): the estimate of a
 * generic plan's xid range grows with the event table, past
 * jit_above_cost once it holds some 100,000 events (a day of a busy
 * service), and compiling then took 19 ms of a 20 ms read
 * (docs/SCALING.md).
 */
#define MAIN_NO_JIT	"SET jit = off"
static const char *const main_events_setup[] = {
	"LISTEN chat_events", "LISTEN chat_typing", "LISTEN chat_group_typing",
	"LISTEN chat_control",
	"SET plan_cache_mode = force_generic_plan", MAIN_NO_JIT, NULL
};
static const char *const main_setup[] = { MAIN_NO_JIT, NULL };

static const struct option main_long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* --help: to stdout, exit 0; a mistake: to stderr, exit 2. */
static void
main_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: chat-push [-n] [-c config] [-i node-id] [-p port]\n"
	    "       chat-push --help | --version\n"
	    "  -c config   the configuration file (default: $CHAT_CONFIG, "
	    "else %s)\n"
	    "  -i node-id  this daemon's node id (default: push.node_id)\n"
	    "  -n          check the configuration and exit\n"
	    "  -p port     the port to listen on (default: push.listen_port)\n"
	    "Signals: SIGTERM drains and exits, SIGHUP reloads the "
	    "configuration.\n",
	    CONFIG_DEFAULT_PATH);
	exit(status);
}

/* libwebsockets' own lines, with the priority of ours. */
static void
main_lws_log(int level, const char *line)
{
	if (level & LLL_ERR)
		log_errorx("lws: %s", line);
	else
		log_warnx("lws: %s", line);
}

static int
main_port(const char *text)
{
	char *end;
	long n = strtol(text, &end, 10);

	if (*text == '\0' || *end != '\0' || n < 1 || n > 65535)
		fatalx("-p: not a port number: %s", text);
	return (int)n;
}

/* The node first, then its sessions, in this order on the connection. */
static void
main_on_connect(void *arg)
{
	frames_connected(arg);
	presence_connected(arg);
	welcome_all(arg);
}

static void
main_on_events_connect(void *arg)
{
	events_connected(arg);
}

/*
 * chat_control: an operator's order (chatctl, sql/functions/accounts.sql).
 * "kick ACCOUNT": close every connection of the account with 1008.
 */
static void
main_control(struct hub *hub, const char *payload)
{
	char account_id[UUID_TEXT_SIZE];
	size_t n;

	if (strncmp(payload, "kick ", 5) != 0 ||
	    uuid_normalize(payload + 5, account_id) == -1) {
		log_warnx("chat_control: not an order: %.80s", payload);
		return;
	}
	n = hub_close_account(hub, account_id,
	    LWS_CLOSE_STATUS_POLICY_VIOLATION);
	log_info("kick: account %s, %zu connections closed", account_id, n);
}

static void
main_on_notify(void *arg, const char *channel, const char *payload)
{
	if (strcmp(channel, "chat_typing") == 0)
		events_typing(arg, payload);
	else if (strcmp(channel, "chat_group_typing") == 0)
		groups_typing(arg, payload);
	else if (strcmp(channel, "chat_control") == 0)
		main_control(arg, payload);
	else
		events_heard(arg, payload);
}

static void
main_stop(void)
{
	m.stop = 1;
	if (m.loop != NULL)
		ev_break(m.loop, EVBREAK_ALL);
	else
		lws_cancel_service(m.hub.ctx);
}

static void
main_left_online_set(struct hub *hub)
{
	(void)hub;
	m.left_online_set = 1;
}

/* SIGTERM: close every connection with 1001, leave the online set, exit. */
static void
main_drain(void)
{
	if (m.hub.draining)
		return;
	log_info("draining %zu connections", m.hub.sessions.count);
	m.hub.draining = 1;
	m.drain_ticks = MAIN_DRAIN_TICKS;
	hub_close_all(&m.hub, LWS_CLOSE_STATUS_GOINGAWAY);
	presence_stop(&m.hub, main_left_online_set);
}

/* The rate limits of CONTRACT §12, for the next requests. */
static void
main_reload_limits(const struct config *fresh)
{
	m.cfg.push_max_waiting_requests = fresh->push_max_waiting_requests;
	m.cfg.limits_send_per_second = fresh->limits_send_per_second;
	m.cfg.limits_send_burst = fresh->limits_send_burst;
	m.cfg.limits_typing_per_second = fresh->limits_typing_per_second;
	m.cfg.limits_typing_burst = fresh->limits_typing_burst;
	m.cfg.limits_read_per_second = fresh->limits_read_per_second;
	m.cfg.limits_read_burst = fresh->limits_read_burst;
	m.cfg.limits_login_failures_per_account =
	    fresh->limits_login_failures_per_account;
	m.cfg.limits_login_failures_per_address =
	    fresh->limits_login_failures_per_address;
	m.cfg.limits_login_failure_window_seconds =
	    fresh->limits_login_failure_window_seconds;
	m.cfg.limits_registrations_per_address =
	    fresh->limits_registrations_per_address;
	m.cfg.limits_registration_window_seconds =
	    fresh->limits_registration_window_seconds;
	if (pg_connected(m.hub.pg))
		frames_connected(&m.hub);
}

static void
main_set_max_queued(void)
{
	pg_set_max_queued(m.hub.pg, m.cfg.push_max_db_queries);
	pg_set_max_queued(m.hub.pg_events, m.cfg.push_max_db_queries);
	pg_set_max_queued(m.hub.pg_marks, m.cfg.push_max_db_queries);
}

/* SIGHUP: the keys that may change while running are taken over. */
static void
main_reload(void)
{
	struct config fresh;
	char err[CONFIG_ERRLEN];

	if (config_load(&fresh, m.config_path, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		config_free(&fresh);
		return;
	}
	m.cfg.log_level = fresh.log_level;
	m.cfg.push_max_connections = fresh.push_max_connections;
	m.cfg.push_max_per_account = fresh.push_max_per_account;
	m.cfg.push_max_frame_bytes = fresh.push_max_frame_bytes;
	m.cfg.push_max_queue_bytes = fresh.push_max_queue_bytes;
	m.cfg.push_undelivered_max = fresh.push_undelivered_max;
	m.cfg.push_poll_seconds = fresh.push_poll_seconds;
	main_reload_limits(&fresh);
	m.cfg.push_max_db_queries = fresh.push_max_db_queries;
	main_set_max_queued();
	log_set_level(m.cfg.log_level);
	config_free(&fresh);
	log_info("configuration reloaded");
}

static int
main_signal_callback(struct lws *wsi, enum lws_callback_reasons reason,
    void *user, void *in, size_t len)
{
	struct signalfd_siginfo si;

	(void)user;
	(void)in;
	(void)len;
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	if (read(lws_get_socket_fd(wsi), &si, sizeof(si)) != sizeof(si))
		return 0;
	if (si.ssi_signo == SIGHUP)
		main_reload();
	else
		main_drain();
	return 0;
}

static const struct lws_protocols main_signal_protocol = {
	"chat-signals", main_signal_callback, 0, 0, 0, NULL, 0
};

static const struct lws_protocols main_protocols[] = {
	/* First: a client naming no subprotocol gets this one. */
	{ "chat", NULL, 0, 0, 0, NULL, 0 },
	{ "chat-pg-raw", NULL, 0, 0, 0, NULL, 0 },
	{ "chat-signals", NULL, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
main_adopt_signals(void)
{
	lws_sock_file_fd_type fd;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	fd.filefd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd.filefd == -1)
		fatal("signalfd");
	if (lws_adopt_descriptor_vhost(m.hub.vhost, LWS_ADOPT_RAW_FILE_DESC, fd,
	    "chat-signals", NULL) == NULL)
		fatalx("cannot watch signals");
	signal(SIGPIPE, SIG_IGN);
}

/* The secret files, read again when they changed (chatctl secret rotate). */
static void
main_secrets(void)
{
	char err[CONFIG_ERRLEN];

	switch (config_reload_secrets(&m.cfg, err, sizeof(err))) {
	case 1:
		log_info("secret files changed: the new secrets are in use%s",
		    m.cfg.jwt_previous_len > 0 ? " (and the previous one)" :
		    "");
		break;
	case -1:
		log_warnx("%s; the secrets read before stay in use", err);
		break;
	}
}

/*
 * Once a second: heartbeat and reaping, the event poll, the drain limit,
 * the secret files.
 */
static void
main_tick(lws_sorted_usec_list_t *sul)
{
	unsigned int every = (unsigned int)m.cfg.presence_timeout_seconds / 3;

	(void)sul;
	m.ticks++;
	if (m.hub.draining) {
		/* Done when every close frame went out, or time is up. */
		if ((m.left_online_set && m.hub.sessions.count == 0) ||
		    --m.drain_ticks <= 0)
			main_stop();
	} else {
		if (m.ticks % (every > 0 ? every : 1) == 0)
			presence_tick(&m.hub);
		if (m.ticks % (unsigned int)m.cfg.push_poll_seconds == 0)
			events_wake(&m.hub);
		frames_tick(&m.hub);
		groups_tick(&m.hub);
		main_secrets();
	}
	timer_schedule(m.hub.ctx, &m.tick, main_tick, MAIN_TICK_US);
}

/*
 * The loop is libev's (epoll), ours, so that a stop can break it: lws's
 * default poll() walks every descriptor at each turn of the loop, which
 * costs more than the work itself once there are hundreds of connections.
 * Debian ships lws's libev support as a plugin; NULL if it does not load.
 */
static struct lws_context *
main_context_libev(struct lws_context_creation_info *info)
{
	static void *loops[1];
	struct lws_context *ctx;

	if ((m.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return NULL;
	loops[0] = m.loop;
	info->foreign_loops = loops;
	info->options |= LWS_SERVER_OPTION_LIBEV;
	if ((ctx = lws_create_context(info)) != NULL)
		return ctx;
	info->foreign_loops = NULL;
	info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
	ev_loop_destroy(m.loop);
	m.loop = NULL;
	return NULL;
}

/*
 * An IPv4 address binds only with IPv6 off: lws 4.1 would otherwise
 * listen on every interface.
 */
static uint64_t
main_address_options(const char *address)
{
	if (strchr(address, ':') == NULL &&
	    strspn(address, "0123456789.") == strlen(address))
		return LWS_SERVER_OPTION_DISABLE_IPV6;
	return 0;
}

/* The metrics port: the daemon's own plus [metrics] push_port_offset. */
static void
main_metrics(int port)
{
	int offset = m.cfg.metrics_push_port_offset;

	if (offset == 0)
		return;
	if (port + offset > 65535)
		fatalx("metrics.push_port_offset: %d + %d is no port", port,
		    offset);
	if (scrape_listen(m.hub.ctx, m.cfg.metrics_push_address,
	    port + offset, main_address_options(m.cfg.metrics_push_address))
	    == -1)
		fatalx("cannot listen for metrics on %s:%d",
		    m.cfg.metrics_push_address, port + offset);
	log_info("metrics on %s:%d", m.cfg.metrics_push_address,
	    port + offset);
}

static struct lws_context *
main_context(int port)
{
	static struct lws_protocols protocols[4];
	struct lws_context_creation_info info;
	struct lws_context *ctx;

	memcpy(protocols, main_protocols, sizeof(protocols));
	protocols[0] = ws_protocol;
	protocols[1] = pg_protocol;
	protocols[2] = main_signal_protocol;

	/* Pings after ping_seconds of silence; two missed intervals close. */
	m.retry.secs_since_valid_ping = (uint16_t)m.cfg.push_ping_seconds;
	m.retry.secs_since_valid_hangup = (uint16_t)(m.cfg.push_ping_seconds *
	    WS_HANGUP_PINGS);

	memset(&info, 0, sizeof(info));
	info.port = port;
	info.iface = m.cfg.push_listen_address;
	info.protocols = protocols;
	info.user = &m.hub;
	info.retry_and_idle_policy = &m.retry;
	/* lws closes a frame of invalid UTF-8 with 1007 itself. */
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    main_address_options(m.cfg.push_listen_address);
	if ((ctx = main_context_libev(&info)) != NULL)
		return ctx;
	log_warnx("no libev event loop: polling every descriptor");
	ctx = lws_create_context(&info);
	if (ctx == NULL)
		fatalx("cannot listen on %s:%d", info.iface, port);
	return ctx;
}

int
main(int argc, char *argv[])
{
	const char *node = NULL;
	char err[CONFIG_ERRLEN];
	int ch, check_only = 0, port = 0;
	struct pg_owner owner = { main_on_connect, NULL, &m.hub };
	struct pg_owner events_owner = {
		main_on_events_connect, main_on_notify, &m.hub
	};
	struct pg_owner marks_owner = { NULL, NULL, &m.hub };

	m.config_path = config_default_path();
	while ((ch = getopt_long(argc, argv, "c:hi:np:", main_long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'h':
			main_usage(stdout, 0);
			break;
		case 'V':
			printf("chat-push %s\n", PACKAGE_VERSION);
			return 0;
		case 'c':
			m.config_path = optarg;
			break;
		case 'i':
			node = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'p':
			port = main_port(optarg);
			break;
		default:
			main_usage(stderr, 2);
		}
	}
	if (optind != argc)
		main_usage(stderr, 2);

	log_init("chat-push", LOG_LEVEL_INFO);
	if (config_load(&m.cfg, m.config_path, err, sizeof(err)) == -1) {
		config_free(&m.cfg);
		fatalx("%s", err);
	}
	if (check_only) {
		config_free(&m.cfg);
		printf("configuration OK\n");
		return 0;
	}
	log_set_level(m.cfg.log_level);
	log_info("chat-push %s starting", PACKAGE_VERSION);
	lws_set_log_level(LLL_ERR, main_lws_log);
	if (node == NULL)
		node = m.cfg.push_node_id;
	if (port == 0)
		port = m.cfg.push_listen_port;

	if (hub_init(&m.hub, &m.cfg, node) == -1 ||
	    events_init(&m.hub, welcome_events_read) == -1 ||
	    groups_init() == -1)
		fatalx("out of memory");
	m.hub.ctx = main_context(port);
	timer_init(m.loop, m.hub.ctx);
	m.hub.vhost = lws_get_vhost_by_name(m.hub.ctx, "default");
	if (m.hub.vhost == NULL)
		fatalx("no default vhost");
	main_adopt_signals();
	main_metrics(port);
	m.hub.pg = pg_new(m.hub.ctx, m.hub.vhost, "requests",
	    m.cfg.db_conninfo, main_setup, &owner);
	m.hub.pg_events = pg_new(m.hub.ctx, m.hub.vhost, "events",
	    m.cfg.db_conninfo, main_events_setup, &events_owner);
	m.hub.pg_marks = pg_new(m.hub.ctx, m.hub.vhost, "marks",
	    m.cfg.db_conninfo, main_setup, &marks_owner);
	if (m.hub.pg == NULL || m.hub.pg_events == NULL ||
	    m.hub.pg_marks == NULL)
		fatalx("out of memory");
	main_set_max_queued();
	delivery_init(m.hub.ctx, m.hub.pg_marks);
	timer_schedule(m.hub.ctx, &m.tick, main_tick, MAIN_TICK_US);
	log_info("node %s listening on %s:%d", m.hub.node_id,
	    m.cfg.push_listen_address, port);

	if (m.loop != NULL)
		while (!m.stop)
			ev_run(m.loop, EVRUN_ONCE);
	else
		while (!m.stop && lws_service(m.hub.ctx, 0) >= 0)
			;

	/* Free everything, so that leak checkers see a clean exit. */
	timer_cancel(&m.tick);
	groups_stop();
	pg_free(m.hub.pg);
	pg_free(m.hub.pg_events);
	pg_free(m.hub.pg_marks);
	m.hub.pg = m.hub.pg_events = m.hub.pg_marks = NULL;
	timer_free();
	lws_context_destroy(m.hub.ctx);
	if (m.loop != NULL)
		ev_loop_destroy(m.loop);
	hub_free(&m.hub);
	events_free();
	groups_free();
	frames_free();
	delivery_free();
	welcome_free();
	presence_free();
	config_free(&m.cfg);
	log_info("stopped");
	return 0;
}
