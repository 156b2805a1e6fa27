/*
 * chatctl migrate, check: the schema and the installation. The SQL files
 * are those of the tree chatctl was built from, installed by make install
 * under $(datadir)/chat/sql (-s names another directory, a checkout's
 * sql/ for instance).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* A growing string, for a connection string and lists of names. */
struct admin_buf {
	char	*s;
	size_t	 len, cap;
};

static void
admin_append(struct admin_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap == 0 ? 256 : b->cap;
		char *grown;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((grown = realloc(b->s, cap)) == NULL)
			err(1, NULL);
		b->s = grown;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
admin_append_str(struct admin_buf *b, const char *s)
{
	admin_append(b, s, strlen(s));
}

/*
 * The configured connection string without its password, which goes to
 * the environment (PGPASSWORD) instead: sql/migrate passes the string to
 * psql on its command line, which everyone on the host may read.
 */
static char *
admin_conninfo_without_password(const char *conninfo)
{
	struct admin_buf b = { NULL, 0, 0 };
	PQconninfoOption *opts;
	char *msg = NULL;

	if ((opts = PQconninfoParse(conninfo, &msg)) == NULL)
		errx(1, "database.conninfo: %s", msg != NULL ? msg :
		    "out of memory");
	admin_append_str(&b, "");
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			if (setenv("PGPASSWORD", o->val, 1) == -1)
				err(1, "setenv");
			continue;
		}
		admin_append_str(&b, b.len > 0 ? " " : "");
		admin_append_str(&b, o->keyword);
		admin_append_str(&b, "='");
		for (const char *p = o->val; *p != '\0'; p++) {
			if (*p == '\'' || *p == '\\')
				admin_append(&b, "\\", 1);
			admin_append(&b, p, 1);
		}
		admin_append_str(&b, "'");
	}
	PQconninfoFree(opts);
	return b.s;
}

int
admin_migrate(struct ctl *ctl, int argc, char *argv[])
{
	char path[4096], *conninfo;
	int status;
	pid_t pid;

	(void)argv;
	if (argc != 1)
		ctl_usage(stderr, 2);
	ctl_config(ctl);
	snprintf(path, sizeof(path), "%s/migrate", ctl->sql_dir);
	if (access(path, X_OK) == -1)
		err(1, "%s", path);
	conninfo = admin_conninfo_without_password(ctl->cfg.db_conninfo);
	fflush(stdout);
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		execl(path, path, conninfo, (char *)NULL);
		warn("%s", path);
		_exit(127);
	}
	free(conninfo);
	if (waitpid(pid, &status, 0) == -1)
		err(1, "waitpid");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* One line of check: what, ok or FAIL, and the details. */
static int
admin_report(const char *what, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
admin_report(const char *what, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%-14s %s ", what, ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return ok ? 0 : 1;
}

static const char *
admin_owner(uid_t uid)
{
	static char buf[32];
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		return pw->pw_name;
	snprintf(buf, sizeof(buf), "uid %u", (unsigned int)uid);
	return buf;
}

/* A file the programs trust: none but its owner (and, for the
 * configuration, its group) may change it; the secret only its owner
 * may read (shared/config.c refuses it otherwise). */
static int
admin_check_file(const char *what, const char *path, mode_t forbidden)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return admin_report(what, 0, "%s: %s", path, strerror(errno));
	return admin_report(what, (st.st_mode & forbidden) == 0,
	    "%s (mode %04o, owner %s)%s", path,
	    (unsigned int)(st.st_mode & 07777), admin_owner(st.st_uid),
	    (st.st_mode & forbidden) == 0 ? "" :
	    forbidden == 077 ? ": others may read it (chmod 0600)" :
	    ": others may change it (chmod 0640)");
}

/* Names of the files of dir ending in .sql, without it, sorted. */
static int
admin_sql_names(const char *dir, char ***names, size_t *n)
{
	struct dirent **list;
	int count = scandir(dir, &list, NULL, alphasort);

	*names = NULL;
	*n = 0;
	if (count < 0)
		return -1;
	if ((*names = calloc((size_t)count + 1, sizeof(**names))) == NULL)
		err(1, NULL);
	for (int i = 0; i < count; i++) {
		size_t len = strlen(list[i]->d_name);

		if (len > 4 && strcmp(list[i]->d_name + len - 4, ".sql") == 0 &&
		    ((*names)[*n] = strndup(list[i]->d_name, len - 4)) != NULL)
			(*n)++;
		free(list[i]);
	}
	free(list);
	return 0;
}

static void
admin_free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The migrations of sql_dir not recorded in schema_migration. */
static int
admin_check_migrations(struct ctl *ctl)
{
	struct admin_buf missing = { NULL, 0, 0 };
	char dir[4096], **names;
	size_t n;
	PGresult *res;
	int rc;

	snprintf(dir, sizeof(dir), "%s/migrations", ctl->sql_dir);
	if (admin_sql_names(dir, &names, &n) == -1 || n == 0)
		return admin_report("migrations", 0, "%s: %s", dir,
		    n == 0 ? "no migration" : strerror(errno));
	res = PQexec(ctl->db, "SELECT version FROM schema_migration");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = admin_report("migrations", 0, "none applied (%s): run "
		    "chatctl migrate", PQresultErrorField(res,
		    PG_DIAG_MESSAGE_PRIMARY));
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		int applied = 0;

		for (int r = 0; r < PQntuples(res) && !applied; r++)
			applied = strcmp(PQgetvalue(res, r, 0), names[i]) == 0;
		if (!applied) {
			admin_append_str(&missing, missing.len > 0 ? ", " : "");
			admin_append_str(&missing, names[i]);
		}
	}
	if (missing.len > 0)
		rc = admin_report("migrations", 0, "not applied: %s: run "
		    "chatctl migrate", missing.s);
	else
		rc = admin_report("migrations", 1, "all %zu of %s applied, "
		    "the last %s", n, dir, names[n - 1]);
done:
	PQclear(res);
	free(missing.s);
	admin_free_names(names, n);
	return rc;
}

/* The names of the functions that file defines (CREATE OR REPLACE
 * FUNCTION name(...), at the start of a line), appended to b as an
 * array literal's elements. */
static void
admin_function_names(const char *file, struct admin_buf *b)
{
	static const char head[] = "CREATE OR REPLACE FUNCTION ";
	char line[512];
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len;

		if (strncmp(line, head, sizeof(head) - 1) != 0)
			continue;
		len = strspn(line + sizeof(head) - 1,
		    "abcdefghijklmnopqrstuvwxyz0123456789_");
		if (len == 0)
			continue;
		admin_append_str(b, b->len > 1 ? "," : "");
		admin_append(b, line + sizeof(head) - 1, len);
	}
	fclose(f);
}

/* Every function of sql_dir/functions exists: migrate ran since they
 * were added. */
static int
admin_check_functions(struct ctl *ctl)
{
	struct admin_buf list = { NULL, 0, 0 };
	char dir[4096], file[4200], **names;
	const char *params[1];
	size_t n;
	PGresult *res;
	int rc;

	snprintf(dir, sizeof(dir), "%s/functions", ctl->sql_dir);
	if (admin_sql_names(dir, &names, &n) == -1 || n == 0)
		return admin_report("functions", 0, "%s: %s", dir,
		    n == 0 ? "no file" : strerror(errno));
	admin_append_str(&list, "{");
	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof(file), "%s/%s.sql", dir, names[i]);
		admin_function_names(file, &list);
	}
	admin_append_str(&list, "}");
	params[0] = list.s;
	res = PQexecParams(ctl->db, "SELECT coalesce(string_agg(f, ', '"
	    " ORDER BY f), '') FROM unnest($1::text[]) f"
	    " WHERE NOT EXISTS (SELECT 1 FROM pg_proc p"
	    " WHERE p.proname = f AND pg_function_is_visible(p.oid))",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = admin_report("functions", 0, "%s",
		    PQresultErrorMessage(res));
	else if (PQgetvalue(res, 0, 0)[0] != '\0')
		rc = admin_report("functions", 0, "missing: %s: run chatctl "
		    "migrate", PQgetvalue(res, 0, 0));
	else
		rc = admin_report("functions", 1, "every function of %s "
		    "defined", dir);
	PQclear(res);
	free(list.s);
	admin_free_names(names, n);
	return rc;
}

/* The daemons whose heartbeat is recent: not a failure when none. */
static void
admin_show_daemons(struct ctl *ctl)
{
	char timeout[16];
	const char *params[] = { timeout };
	PGresult *res;

	snprintf(timeout, sizeof(timeout), "%d",
	    ctl->cfg.presence_timeout_seconds);
	res = PQexecParams(ctl->db, "SELECT count(*), coalesce(string_agg("
	    "node_id, ', ' ORDER BY node_id), '') FROM presence_node"
	    " WHERE heartbeat_at > now() - make_interval(secs => $1::int)",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		printf("%-14s      %s alive%s%s\n", "push daemons",
		    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1)[0] != '\0' ?
		    ": " : "", PQgetvalue(res, 0, 1));
	PQclear(res);
}

int
admin_check(struct ctl *ctl, int argc, char *argv[])
{
	char err[CONFIG_ERRLEN], path[PATH_MAX];
	int failed = 0;
	PGresult *res;

	(void)argv;
	if (argc != 1)
		ctl_usage(stderr, 2);
	if (config_load(&ctl->cfg, ctl->config_path, err, sizeof(err)) == -1) {
		config_free(&ctl->cfg);
		admin_report("configuration", 0, "%s", err);
		return 1;
	}
	ctl->cfg_loaded = 1;
	failed |= admin_report("configuration", 1, "%s", ctl->config_path);
	failed |= admin_check_file("config file", ctl->config_path, 022);
	failed |= admin_check_file("secret file", ctl->cfg.jwt_secret_file,
	    077);
	if (ctl->cfg.jwt_previous_len > 0 && config_previous_path(&ctl->cfg,
	    path, sizeof(path)) == 0)
		failed |= admin_check_file("previous one", path, 077);

	ctl->db = PQconnectdb(ctl->cfg.db_conninfo);
	if (PQstatus(ctl->db) != CONNECTION_OK) {
		admin_report("database", 0, "%s", PQerrorMessage(ctl->db));
		return 1;
	}
	res = PQexec(ctl->db, "SELECT current_database(), current_user,"
	    " current_setting('server_version')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		admin_report("database", 0, "%s", PQresultErrorMessage(res));
		PQclear(res);
		return 1;
	}
	failed |= admin_report("database", 1, "%s as %s, PostgreSQL %s",
	    PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
	    PQgetvalue(res, 0, 2));
	PQclear(res);
	failed |= admin_check_migrations(ctl);
	failed |= admin_check_functions(ctl);
	admin_show_daemons(ctl);
	return failed ? 1 : 0;
}
