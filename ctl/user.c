/*
 * chatctl user: accounts. The rules of a name, an email and a password
 * are those of registration (shared/rules.h); the password is hashed as
 * registration hashes it (shared/password.c). Deactivation and deletion
 * reach the push daemons through the account_disabled event that the
 * account table's trigger records (docs/events.md), which they read at
 * once when woken: they close the account's connections with 1008 and
 * refuse its handshakes. chat-fcgi looks the account up at every request.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "password.h"
#include "rules.h"

/* A password line: the longest password allowed is 128 characters. */
#define USER_LINE_MAX	1024

static void
user_check(const char *what, const char *value, size_t min, size_t max)
{
	struct rules_error e;

	if (rules_string(value, strlen(value), min, max, &e) == -1)
		errx(1, "%s: %s", what, e.msg);
}

/* One line of stdin into buf, without its end of line. */
static int
user_read_line(char *buf, size_t size)
{
	size_t len;

	if (fgets(buf, (int)size, stdin) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	else if (!feof(stdin))
		errx(1, "password: longer than %d characters",
		    RULES_PASSWORD_MAX);
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return 0;
}

/* Asks on the terminal of stdin, without echo. */
static int
user_ask(const char *prompt, char *buf, size_t size)
{
	struct termios saved, quiet;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved) == -1)
		err(1, "tcgetattr");
	quiet = saved;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	fputs(prompt, stderr);
	fflush(stderr);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == -1)
		err(1, "tcsetattr");
	rc = user_read_line(buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	return rc;
}

/*
 * The new password into buf: asked twice when stdin is a terminal, else
 * the first line of stdin (never an argument: the command lines of
 * processes are for everyone to read). Exits 1 unless it follows the
 * rules of registration.
 */
static void
user_password(char *buf, size_t size)
{
	char again[USER_LINE_MAX];

	if (isatty(STDIN_FILENO)) {
		if (user_ask("New password: ", buf, size) == -1 ||
		    user_ask("Again: ", again, sizeof(again)) == -1)
			errx(1, "password: none given");
		if (strcmp(buf, again) != 0) {
			explicit_bzero(again, sizeof(again));
			errx(1, "password: the two differ");
		}
		explicit_bzero(again, sizeof(again));
	} else if (user_read_line(buf, size) == -1)
		errx(1, "password: none on stdin");
	user_check("password", buf, RULES_PASSWORD_MIN, RULES_PASSWORD_MAX);
}

/* The hash of a new password read as user_password() reads it. */
static char *
user_new_hash(void)
{
	char pw[USER_LINE_MAX];
	char *hash;

	user_password(pw, sizeof(pw));
	hash = password_hash(pw);
	explicit_bzero(pw, sizeof(pw));
	if (hash == NULL)
		errx(1, "cannot hash the password: is yescrypt available?");
	return hash;
}

static const struct option user_add_options[] = {
	{ "full-name", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

static int
user_add(struct ctl *ctl, int argc, char *argv[])
{
	const char *full_name = NULL, *params[4];
	char *hash;
	PGresult *res;
	int ch;

	while ((ch = getopt_long(argc, argv, "f:", user_add_options,
	    NULL)) != -1) {
		if (ch != 'f')
			ctl_usage(stderr, 2);
		full_name = optarg;
	}
	if (argc - optind != 2)
		ctl_usage(stderr, 2);
	params[0] = argv[optind];
	params[1] = argv[optind + 1];
	user_check("username", params[0], RULES_USERNAME_MIN,
	    RULES_USERNAME_MAX);
	if (!rules_username_chars(params[0]))
		errx(1, "username: letters, digits and _ . - only");
	user_check("email", params[1], 1, RULES_EMAIL_MAX);
	if (!rules_email(params[1]))
		errx(1, "email: not an email address");
	if (full_name != NULL)
		user_check("full name", full_name, 0, RULES_FULL_NAME_MAX);
	ctl_db(ctl);

	res = ctl_query(ctl, "SELECT"
	    " EXISTS (SELECT 1 FROM account WHERE lower(username) = lower($1)),"
	    " EXISTS (SELECT 1 FROM account WHERE lower(email) = lower($2))",
	    2, params);
	if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		errx(1, "username %s is taken", params[0]);
	if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		errx(1, "email %s is taken", params[1]);
	PQclear(res);

	hash = user_new_hash();
	params[2] = hash;
	params[3] = full_name;
	res = ctl_query(ctl, "INSERT INTO account"
	    " (username, email, password_hash, full_name)"
	    " VALUES ($1, $2, $3, $4) RETURNING account_id", 4, params);
	printf("added %s (%s)\n", params[0], PQgetvalue(res, 0, 0));
	PQclear(res);
	free(hash);
	return 0;
}

/* The account's connections on live daemons, as lines of user show. */
static void
user_show_connections(struct ctl *ctl, const char *id)
{
	char timeout[16];
	const char *params[] = { id, timeout };
	PGresult *res;
	int n;

	snprintf(timeout, sizeof(timeout), "%d",
	    ctl->cfg.presence_timeout_seconds);
	res = ctl_query(ctl, "SELECT c.node_id, c.connection_id,"
	    " api_time(c.connected_at)"
	    " FROM presence_connection c JOIN presence_node n USING (node_id)"
	    " WHERE c.account_id = $1"
	    "   AND n.heartbeat_at > now() - make_interval(secs => $2::int)"
	    " ORDER BY c.connected_at, c.node_id", 2, params);
	n = PQntuples(res);
	printf("connections:  %d\n", n);
	for (int i = 0; i < n; i++)
		printf("  %s connection %s since %s\n", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2));
	PQclear(res);
}

static int
user_show(struct ctl *ctl, const char *who)
{
	struct ctl_account a;
	const char *params[1];
	PGresult *res;

	ctl_account_find(ctl, who, &a);
	params[0] = a.id;
	res = ctl_query(ctl, "SELECT coalesce(full_name, ''), is_active,"
	    " api_time(created_at), api_time(updated_at)"
	    " FROM account WHERE account_id = $1", 1, params);
	if (PQntuples(res) != 1)
		errx(1, "no account %s", who);
	printf("account_id:   %s\n", a.id);
	printf("username:     %s\n", a.username);
	printf("email:        %s\n", a.email);
	printf("full_name:    %s\n", PQgetvalue(res, 0, 0));
	printf("active:       %s\n",
	    strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? "yes" : "no");
	printf("created_at:   %s\n", PQgetvalue(res, 0, 2));
	printf("updated_at:   %s\n", PQgetvalue(res, 0, 3));
	PQclear(res);
	user_show_connections(ctl, a.id);
	return 0;
}

static int
user_set_active(struct ctl *ctl, const char *who, int active)
{
	struct ctl_account a;
	const char *params[2];
	PGresult *res;
	int changed;

	ctl_account_find(ctl, who, &a);
	params[0] = a.id;
	params[1] = active ? "true" : "false";
	res = ctl_query(ctl, "UPDATE account SET is_active = $2"
	    " WHERE account_id = $1 AND is_active <> $2", 2, params);
	changed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!changed) {
		printf("%s (%s) was %s already\n", a.username, a.id,
		    active ? "active" : "inactive");
		return 0;
	}
	ctl_wake_daemons(ctl);
	printf("%s %s (%s)\n", active ? "activated" : "deactivated",
	    a.username, a.id);
	return 0;
}

/*
 * Deleting an account locks its row first, then what refers to it
 * (friendships, conversations, groups: sql/functions/groups.sql); a
 * transaction of the same account at the same moment (a send) holds some
 * of those and then wants the account's row (its foreign keys), so the
 * two can deadlock. PostgreSQL aborts the one that began waiting first,
 * mostly the deletion, whose try is then made again: the other
 * transaction has its locks by then, and the next try waits for its end.
 */
#define USER_DELETE_TRIES	5

static void
user_delete_row(struct ctl *ctl, const char *id)
{
	const struct timespec pause = { .tv_sec = 0, .tv_nsec = 100000000 };
	const char *params[1] = { id };

	for (int try = 1;; try++) {
		PGresult *res = PQexecParams(ctl_db(ctl),
		    "DELETE FROM account WHERE account_id = $1", 1, NULL,
		    params, NULL, NULL, 0);
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (PQresultStatus(res) == PGRES_COMMAND_OK) {
			PQclear(res);
			return;
		}
		if (try == USER_DELETE_TRIES || state == NULL ||
		    strcmp(state, "40P01") != 0)
			errx(1, "database: %s", PQresultErrorMessage(res));
		warnx("deadlock with another transaction of the account: "
		    "deleting again");
		PQclear(res);
		nanosleep(&pause, NULL);
	}
}

static int
user_delete(struct ctl *ctl, int argc, char *argv[])
{
	struct ctl_account a;
	const char *who = NULL;
	int yes = 0;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--yes") == 0)
			yes = 1;
		else if (who == NULL)
			who = argv[i];
		else
			ctl_usage(stderr, 2);
	}
	if (who == NULL)
		ctl_usage(stderr, 2);
	ctl_account_find(ctl, who, &a);
	if (!yes)
		errx(1, "deleting %s (%s) deletes every message it sent or "
		    "received, for both sides, and the group messages it "
		    "sent, and it leaves its groups: add --yes (or "
		    "deactivate it)",
		    a.username, a.id);
	user_delete_row(ctl, a.id);
	ctl_wake_daemons(ctl);
	printf("deleted %s (%s)\n", a.username, a.id);
	return 0;
}

static int
user_set_password(struct ctl *ctl, const char *who)
{
	struct ctl_account a;
	const char *params[2];
	char *hash;

	ctl_account_find(ctl, who, &a);
	hash = user_new_hash();
	params[0] = a.id;
	params[1] = hash;
	PQclear(ctl_query(ctl, "UPDATE account SET password_hash = $2"
	    " WHERE account_id = $1", 2, params));
	free(hash);
	printf("password of %s (%s) changed; tokens issued before stay valid "
	    "until they expire\n", a.username, a.id);
	return 0;
}

int
user_command(struct ctl *ctl, int argc, char *argv[])
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (strcmp(sub, "add") == 0)
		return user_add(ctl, argc - 1, argv + 1);
	if (strcmp(sub, "delete") == 0)
		return user_delete(ctl, argc, argv);
	if (argc != 3)
		ctl_usage(stderr, 2);
	if (strcmp(sub, "show") == 0)
		return user_show(ctl, argv[2]);
	if (strcmp(sub, "deactivate") == 0)
		return user_set_active(ctl, argv[2], 0);
	if (strcmp(sub, "activate") == 0)
		return user_set_active(ctl, argv[2], 1);
	if (strcmp(sub, "password") == 0)
		return user_set_password(ctl, argv[2]);
	ctl_usage(stderr, 2);
}
