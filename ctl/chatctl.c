/*
 * chatctl: the operator's tool (docs/OPERATIONS.md).
 *
 *   chatctl [-c config] [-s sqldir] command [arguments]
 *
 * Run it as the service's user (runuser -u chat -- chatctl ...): it reads
 * the configuration and the secret as the programs do, and connects to
 * the database as they do.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#ifndef CTL_SQL_DIR
#define CTL_SQL_DIR	"/usr/local/share/chat/sql"
#endif

void
ctl_usage(FILE *out, int status)
{
	fprintf(out,
	    "usage: chatctl [-c config] [-s sqldir] command [arguments]\n"
	    "       chatctl --help | --version\n"
	    "  -c config   the configuration file (default: $CHAT_CONFIG, "
	    "else %s)\n"
	    "  -s sqldir   sql/migrate and its files (default: %s)\n"
	    "USER is a username, an email address or an account id.\n"
	    "Commands:\n"
	    "  user add NAME EMAIL [-f FULL_NAME]\n"
	    "                        a new account; its password is read "
	    "from stdin,\n"
	    "                        or asked twice on a terminal\n"
	    "  user show USER        the account and its connections\n"
	    "  user deactivate USER  refuse its logins, requests and "
	    "connections, close\n"
	    "                        its connections (1008) on every daemon\n"
	    "  user activate USER    let it in again\n"
	    "  user delete USER --yes\n"
	    "                        delete it, with every message it sent "
	    "or received\n"
	    "                        and the group messages it sent\n"
	    "  user password USER    a new password, read as for user add\n"
	    "  online [-n NODE]      open connections: node, account, since "
	    "when\n"
	    "  kick USER             close every connection of USER (1008) "
	    "on every daemon\n"
	    "  stats                 accounts, groups, messages today, "
	    "connections per\n"
	    "                        daemon, event lag\n"
	    "  migrate               bring the database to the schema of "
	    "sqldir\n"
	    "  check                 the configuration, the secret file, "
	    "the database,\n"
	    "                        the schema\n"
	    "  secret rotate [--force]\n"
	    "                        a new JWT secret; tokens signed with the "
	    "one before\n"
	    "                        stay valid until they expire\n",
	    CONFIG_DEFAULT_PATH, CTL_SQL_DIR);
	exit(status);
}

void
ctl_config(struct ctl *ctl)
{
	char err[CONFIG_ERRLEN];

	if (ctl->cfg_loaded)
		return;
	if (config_load(&ctl->cfg, ctl->config_path, err, sizeof(err)) == -1)
		errx(1, "%s", err);
	ctl->cfg_loaded = 1;
}

PGconn *
ctl_db(struct ctl *ctl)
{
	if (ctl->db != NULL)
		return ctl->db;
	ctl_config(ctl);
	ctl->db = PQconnectdb(ctl->cfg.db_conninfo);
	if (PQstatus(ctl->db) != CONNECTION_OK)
		errx(1, "database: %s", PQerrorMessage(ctl->db));
	return ctl->db;
}

PGresult *
ctl_query(struct ctl *ctl, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res = PQexecParams(ctl_db(ctl), sql, nparams, NULL, params,
	    NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
	    PQresultStatus(res) != PGRES_COMMAND_OK)
		errx(1, "database: %s", PQresultErrorMessage(res));
	return res;
}

static void
ctl_copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

void
ctl_account_find(struct ctl *ctl, const char *who, struct ctl_account *a)
{
	char id[UUID_TEXT_SIZE];
	const char *sql, *params[1];
	PGresult *res;

	if (uuid_normalize(who, id) == 0) {
		sql = "SELECT account_id, username, email, is_active"
		    " FROM account WHERE account_id = $1";
		params[0] = id;
	} else if (strchr(who, '@') != NULL) {
		sql = "SELECT account_id, username, email, is_active"
		    " FROM account WHERE lower(email) = lower($1)";
		params[0] = who;
	} else {
		sql = "SELECT account_id, username, email, is_active"
		    " FROM account WHERE lower(username) = lower($1)";
		params[0] = who;
	}
	res = ctl_query(ctl, sql, 1, params);
	if (PQntuples(res) != 1)
		errx(1, "no account %s", who);
	ctl_copy(a->id, sizeof(a->id), PQgetvalue(res, 0, 0));
	ctl_copy(a->username, sizeof(a->username), PQgetvalue(res, 0, 1));
	ctl_copy(a->email, sizeof(a->email), PQgetvalue(res, 0, 2));
	a->active = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	PQclear(res);
}

/*
 * A NOTIFY naming no account makes every daemon read the event table at
 * once (sql/functions/events.sql, wake_push_daemons): without it they
 * would find the events at their next periodic read (push.poll_seconds).
 */
void
ctl_wake_daemons(struct ctl *ctl)
{
	PQclear(ctl_query(ctl, "SELECT wake_push_daemons(NULL)", 0, NULL));
}

static const struct option ctl_long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static const struct {
	const char	*name;
	int		(*run)(struct ctl *, int, char *[]);
} ctl_commands[] = {
	{ "check", admin_check },
	{ "kick", service_kick },
	{ "migrate", admin_migrate },
	{ "online", service_online },
	{ "secret", secret_command },
	{ "stats", service_stats },
	{ "user", user_command },
};

int
main(int argc, char *argv[])
{
	struct ctl ctl;
	int ch, rc;

	memset(&ctl, 0, sizeof(ctl));
	ctl.config_path = config_default_path();
	ctl.sql_dir = CTL_SQL_DIR;
	/* "+": the options of the command are the command's. */
	while ((ch = getopt_long(argc, argv, "+c:hs:", ctl_long_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'h':
			ctl_usage(stdout, 0);
		case 's':
			ctl.sql_dir = optarg;
			break;
		case 'V':
			printf("chatctl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			ctl_usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		ctl_usage(stderr, 2);
	for (size_t i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]);
	    i++) {
		if (strcmp(argv[0], ctl_commands[i].name) != 0)
			continue;
		/* Each command parses its own options from its name on. */
		optind = 0;
		rc = ctl_commands[i].run(&ctl, argc, argv);
		if (ctl.db != NULL)
			PQfinish(ctl.db);
		if (ctl.cfg_loaded)
			config_free(&ctl.cfg);
		return rc;
	}
	warnx("unknown command: %s", argv[0]);
	ctl_usage(stderr, 2);
}
