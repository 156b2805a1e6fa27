/*
 * Unit tests of shared/config.c: config_load and config_free, on files
 * written at run time into a private directory under /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

#define SECRET	"0123456789abcdef0123456789ABCDEF+extra"	/* 38 bytes */

static char dir[] = "/tmp/test_config.XXXXXX";
static char conf_path[PATH_MAX];	/* dir/chat.conf */
static char secret_path[PATH_MAX];	/* dir/secret */
static char previous_path[PATH_MAX];	/* dir/secret.previous */

/* Writes len bytes of data to path with the given mode; 0 or -1. */
static int
write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fchmod(fd, mode) == -1) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
write_secret(const char *data, mode_t mode)
{
	return write_file(secret_path, data, strlen(data), mode);
}

/*
 * Writes the configuration file: "@SECRET@" in text stands for the path
 * of the secret file. Returns 0 or -1.
 */
static int
write_conf(const char *text)
{
	char buf[16384];
	const char *at;
	size_t n = 0;

	while ((at = strstr(text, "@SECRET@")) != NULL) {
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%.*s%s",
		    (int)(at - text), text, secret_path);
		text = at + strlen("@SECRET@");
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s", text);
	if (n >= sizeof(buf))
		return -1;
	return write_file(conf_path, buf, n, 0644);
}

/* The two required keys, with the test secret. */
#define REQUIRED \
	"[database]\nconninfo = dbname=chat\n" \
	"[auth]\njwt_secret_file = @SECRET@\n"

/*
 * Writes text as the configuration and loads it. Returns config_load's
 * result; err receives its message. The caller calls config_free(cfg).
 */
static int
load(struct config *cfg, const char *text, char err[CONFIG_ERRLEN])
{
	err[0] = '\0';
	if (write_conf(text) == -1) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, CONFIG_ERRLEN, "test: cannot write the file");
		return -2;
	}
	return config_load(cfg, conf_path, err, CONFIG_ERRLEN);
}

/*
 * 1 when text fails to load with an error that contains want (the key
 * named in it). Releases the configuration either way.
 */
static int
fails_with(const char *text, const char *want)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];
	int rc, ok;

	rc = load(&cfg, text, err);
	ok = rc == -1 && strstr(err, want) != NULL;
	if (!ok)
		fprintf(stderr, "  expected failure naming \"%s\", got rc %d, "
		    "error \"%s\"\n", want, rc, err);
	config_free(&cfg);
	return ok;
}

/* 1 when text loads. Releases the configuration. */
static int
loads(const char *text)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];
	int rc;

	rc = load(&cfg, text, err);
	if (rc != 0)
		fprintf(stderr, "  expected success, got rc %d, error \"%s\"\n",
		    rc, err);
	config_free(&cfg);
	return rc == 0;
}

static void
test_full_file(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];

	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(load(&cfg,
	    "; a comment\n"
	    "# another\n"
	    "[database]\n"
	    "conninfo = host=/var/run/postgresql dbname=chat user=chat_app\n"
	    "\n"
	    "[auth]\n"
	    "jwt_secret_file = @SECRET@\n"
	    "access_token_minutes = 15\n"
	    "refresh_token_days = 30\n"
	    "[http]\n"
	    "cors_origins = https://chat.example.org\n"
	    "max_body_bytes = 2048\n"
	    "[log]\n"
	    "level = debug\n"
	    "[presence]\n"
	    "node_timeout_seconds = 90\n", err) == 0);
	CHECK(err[0] == '\0');
	CHECK(cfg.db_conninfo != NULL && strcmp(cfg.db_conninfo,
	    "host=/var/run/postgresql dbname=chat user=chat_app") == 0);
	CHECK(cfg.jwt_secret_file != NULL &&
	    strcmp(cfg.jwt_secret_file, secret_path) == 0);
	CHECK(cfg.access_token_minutes == 15);
	CHECK(cfg.refresh_token_days == 30);
	CHECK(cfg.cors_origins != NULL &&
	    strcmp(cfg.cors_origins, "https://chat.example.org") == 0);
	CHECK(cfg.max_body_bytes == 2048);
	CHECK(cfg.log_level == LOG_LEVEL_DEBUG);
	CHECK(cfg.presence_timeout_seconds == 90);
	CHECK(cfg.jwt_secret_len == strlen(SECRET));
	CHECK(memcmp(cfg.jwt_secret, SECRET, strlen(SECRET)) == 0);

	config_free(&cfg);
	CHECK(cfg.db_conninfo == NULL && cfg.jwt_secret_file == NULL &&
	    cfg.cors_origins == NULL);
	CHECK(cfg.jwt_secret_len == 0 && cfg.jwt_secret[0] == 0);
}

static void
test_defaults(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];

	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.db_conninfo != NULL &&
	    strcmp(cfg.db_conninfo, "dbname=chat") == 0);
	CHECK(cfg.access_token_minutes == 30);
	CHECK(cfg.refresh_token_days == 7);
	CHECK(cfg.max_body_bytes == 65536);
	CHECK(cfg.cors_origins != NULL && strcmp(cfg.cors_origins,
	    "http://localhost:5173 http://127.0.0.1:5173") == 0);
	CHECK(cfg.log_level == LOG_LEVEL_INFO);
	CHECK(cfg.presence_timeout_seconds == 30);
	config_free(&cfg);
}

static void
test_log_levels(void)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "debug", LOG_LEVEL_DEBUG },
		{ "info", LOG_LEVEL_INFO },
		{ "warn", LOG_LEVEL_WARN },
		{ "error", LOG_LEVEL_ERROR },
	};
	struct config cfg;
	char text[512], err[CONFIG_ERRLEN];

	CHECK(write_secret(SECRET, 0600) == 0);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		snprintf(text, sizeof(text), REQUIRED "[log]\nlevel = %s\n",
		    levels[i].name);
		CHECK(load(&cfg, text, err) == 0);
		CHECK(cfg.log_level == levels[i].level);
		config_free(&cfg);
	}
}

static void
test_secret_file(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];

	/* The trailing newline (and CR, spaces) is not part of the secret. */
	CHECK(write_secret(SECRET "\n", 0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_secret_len == strlen(SECRET));
	CHECK(memcmp(cfg.jwt_secret, SECRET, strlen(SECRET)) == 0);
	config_free(&cfg);

	CHECK(write_secret(SECRET " \r\n\n", 0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_secret_len == strlen(SECRET));
	config_free(&cfg);

	/* Inner white space and leading white space are kept. */
	CHECK(write_secret(" 0123456789abcdef 0123456789abcdef\n", 0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_secret_len == 34);
	CHECK(memcmp(cfg.jwt_secret, " 0123456789abcdef 0123456789abcdef",
	    34) == 0);
	config_free(&cfg);

	/* Binary secrets (with NULs) keep their length. */
	CHECK(write_file(secret_path, "\0\1\2\3\4\5\6\7\0\1\2\3\4\5\6\7"
	    "\0\1\2\3\4\5\6\7\0\1\2\3\4\5\6\7", 32, 0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_secret_len == 32);
	CHECK(cfg.jwt_secret[0] == 0 && cfg.jwt_secret[31] == 7);
	config_free(&cfg);

	/* 0400 is private too. */
	CHECK(write_secret(SECRET, 0400) == 0);
	CHECK(loads(REQUIRED));
}

#define PREVIOUS	"previous-0123456789abcdef0123456789abcdef"

/* The file of the previous secret, beside the secret's: optional, and
 * held to the same rules. */
static void
test_previous_secret(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN], path[PATH_MAX];

	CHECK(write_secret(SECRET "\n", 0600) == 0);
	unlink(previous_path);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_previous_len == 0);
	CHECK(config_previous_path(&cfg, path, sizeof(path)) == 0 &&
	    strcmp(path, previous_path) == 0);
	config_free(&cfg);

	CHECK(write_file(previous_path, PREVIOUS "\n", strlen(PREVIOUS) + 1,
	    0600) == 0);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(cfg.jwt_secret_len == strlen(SECRET));
	CHECK(cfg.jwt_previous_len == strlen(PREVIOUS));
	CHECK(memcmp(cfg.jwt_previous, PREVIOUS, strlen(PREVIOUS)) == 0);
	config_free(&cfg);
	CHECK(cfg.jwt_previous_len == 0 && cfg.jwt_previous[0] == 0);

	CHECK(write_file(previous_path, PREVIOUS, strlen(PREVIOUS), 0640) == 0);
	CHECK(fails_with(REQUIRED, "secret.previous: readable by group"));
	CHECK(write_file(previous_path, "short\n", 6, 0600) == 0);
	CHECK(fails_with(REQUIRED, "secret.previous: secret shorter"));
	unlink(previous_path);
}

/* config_reload_secrets(): 0 while the files stay, 1 with the new
 * secrets once they change, -1 (secrets kept) when they are not valid. */
static void
test_reload_secrets(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];
	static const char fresh[] = "fresh-0123456789abcdef0123456789abcdef";

	CHECK(write_secret(SECRET "\n", 0600) == 0);
	unlink(previous_path);
	CHECK(load(&cfg, REQUIRED, err) == 0);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == 0);

	/* A rotation: the secret becomes the previous one. */
	CHECK(write_file(previous_path, SECRET "\n", strlen(SECRET) + 1,
	    0600) == 0);
	CHECK(write_secret(fresh, 0600) == 0);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == 1);
	CHECK(cfg.jwt_secret_len == strlen(fresh) &&
	    memcmp(cfg.jwt_secret, fresh, strlen(fresh)) == 0);
	CHECK(cfg.jwt_previous_len == strlen(SECRET) &&
	    memcmp(cfg.jwt_previous, SECRET, strlen(SECRET)) == 0);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == 0);

	/* A bad file: refused once, the secrets kept. */
	CHECK(write_secret(fresh, 0644) == 0);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == -1);
	CHECK(strstr(err, "auth.jwt_secret_file: readable by group") != NULL);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == 0);
	CHECK(cfg.jwt_secret_len == strlen(fresh));

	/* The previous one gone. */
	CHECK(write_secret(SECRET, 0600) == 0);
	unlink(previous_path);
	CHECK(config_reload_secrets(&cfg, err, sizeof(err)) == 1);
	CHECK(cfg.jwt_previous_len == 0);
	CHECK(cfg.jwt_secret_len == strlen(SECRET));
	config_free(&cfg);
}

static void
test_secret_length(void)
{
	char big[CONFIG_SECRET_MAX + 1];

	/* Exactly the minimum is enough, with or without a newline. */
	CHECK(write_secret("0123456789abcdef0123456789abcdef", 0600) == 0);
	CHECK(loads(REQUIRED));
	CHECK(write_secret("0123456789abcdef0123456789abcdef\n", 0600) == 0);
	CHECK(loads(REQUIRED));

	/* One byte less is not, and the newline does not count. */
	CHECK(write_secret("0123456789abcdef0123456789abcde", 0600) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret("0123456789abcdef0123456789abcde\n", 0600) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret("0123456789abcdef0123456789abcde    \n\n", 0600) ==
	    0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret("", 0600) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));

	/* The largest secret read whole, and one byte more. */
	memset(big, 'k', sizeof(big));
	CHECK(write_file(secret_path, big, CONFIG_SECRET_MAX - 1, 0600) == 0);
	CHECK(loads(REQUIRED));
	CHECK(write_file(secret_path, big, CONFIG_SECRET_MAX, 0600) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_file(secret_path, big, CONFIG_SECRET_MAX + 1, 0600) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
}

static void
test_secret_mode(void)
{
	CHECK(write_secret(SECRET, 0644) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret(SECRET, 0640) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret(SECRET, 0604) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret(SECRET, 0601) == 0);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file"));
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(loads(REQUIRED));
}

static void
test_secret_missing(void)
{
	CHECK(unlink(secret_path) == 0 || errno == ENOENT);
	CHECK(fails_with(REQUIRED, "auth.jwt_secret_file: cannot open"));
	/* A directory is not a secret file. */
	CHECK(fails_with("[database]\nconninfo = x\n"
	    "[auth]\njwt_secret_file = /tmp\n", "auth.jwt_secret_file"));
	CHECK(fails_with("[database]\nconninfo = x\n"
	    "[auth]\njwt_secret_file =\n", "auth.jwt_secret_file"));
}

static void
test_unknown_key(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with(REQUIRED "[x]\ny = 1\n", "x.y: unknown key"));
	CHECK(fails_with(REQUIRED "[auth]\njwt_secret = hunter2\n",
	    "auth.jwt_secret: unknown key"));
	/* Section and key names are case-sensitive. */
	CHECK(fails_with(REQUIRED "[LOG]\nlevel = info\n",
	    "LOG.level: unknown key"));
	/* A key before any section belongs to none. */
	CHECK(fails_with("level = info\n" REQUIRED, ".level: unknown key"));
	/* Known name, wrong section. */
	CHECK(fails_with(REQUIRED "[http]\nlevel = info\n",
	    "http.level: unknown key"));
}

static void
test_int_range(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with(REQUIRED "access_token_minutes = 0\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = 1441\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = -30\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = "
	    "99999999999999999999999\n", "auth.access_token_minutes"));
	CHECK(loads(REQUIRED "access_token_minutes = 1\n"));
	CHECK(loads(REQUIRED "access_token_minutes = 1440\n"));

	CHECK(fails_with(REQUIRED "refresh_token_days = 0\n",
	    "auth.refresh_token_days"));
	CHECK(fails_with(REQUIRED "refresh_token_days = 366\n",
	    "auth.refresh_token_days"));
	CHECK(loads(REQUIRED "refresh_token_days = 365\n"));

	CHECK(fails_with(REQUIRED "[http]\nmax_body_bytes = 1023\n",
	    "http.max_body_bytes"));
	CHECK(fails_with(REQUIRED "[http]\nmax_body_bytes = 1048577\n",
	    "http.max_body_bytes"));
	CHECK(loads(REQUIRED "[http]\nmax_body_bytes = 1024\n"));
	CHECK(loads(REQUIRED "[http]\nmax_body_bytes = 1048576\n"));

	CHECK(fails_with(REQUIRED "[presence]\nnode_timeout_seconds = 2\n",
	    "presence.node_timeout_seconds"));
	CHECK(fails_with(REQUIRED "[presence]\nnode_timeout_seconds = 3601\n",
	    "presence.node_timeout_seconds"));
	CHECK(loads(REQUIRED "[presence]\nnode_timeout_seconds = 3\n"));
	CHECK(loads(REQUIRED "[presence]\nnode_timeout_seconds = 3600\n"));
}

static void
test_int_syntax(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with(REQUIRED "access_token_minutes = abc\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = 30abc\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = 30 minutes\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = 3.5\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes = 0x1e\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "access_token_minutes =\n",
	    "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "[http]\nmax_body_bytes = 64k\n",
	    "http.max_body_bytes"));
}

static void
test_bad_log_level(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with(REQUIRED "[log]\nlevel = verbose\n", "log.level"));
	CHECK(fails_with(REQUIRED "[log]\nlevel = INFO\n", "log.level"));
	CHECK(fails_with(REQUIRED "[log]\nlevel = 1\n", "log.level"));
	CHECK(fails_with(REQUIRED "[log]\nlevel =\n", "log.level"));
}

static void
test_missing_required(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with("[auth]\njwt_secret_file = @SECRET@\n",
	    "database.conninfo: missing"));
	CHECK(fails_with("[database]\nconninfo = dbname=chat\n",
	    "auth.jwt_secret_file: missing"));
	/* Under another section it does not count. */
	CHECK(fails_with("[database]\n[auth]\nconninfo = x\n",
	    "auth.conninfo: unknown key"));
	CHECK(fails_with("", "missing"));
}

static void
test_syntax_error(void)
{
	char want[PATH_MAX + 64];

	CHECK(write_secret(SECRET, 0600) == 0);
	snprintf(want, sizeof(want), "%s: syntax error on line 3", conf_path);
	CHECK(fails_with("[database]\nconninfo = x\nthis is not a pair\n"
	    "[auth]\njwt_secret_file = @SECRET@\n", want));
	snprintf(want, sizeof(want), "%s: syntax error on line 1", conf_path);
	CHECK(fails_with("[database\n" REQUIRED, want));
	CHECK(loads(REQUIRED "[log]\n"));	/* an empty section is fine */
	snprintf(want, sizeof(want), "%s: syntax error on line 5", conf_path);
	CHECK(fails_with(REQUIRED "garbage\n", want));
}

/*
 * With several errors, the message should name the first: inih goes on
 * reading after the handler returns 0 unless built to stop.
 */
static void
test_first_error_named(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(fails_with(REQUIRED "access_token_minutes = 0\n"
	    "[x]\ny = 1\n", "auth.access_token_minutes"));
	CHECK(fails_with(REQUIRED "[x]\ny = 1\n[z]\nw = 2\n",
	    "x.y: unknown key"));
}

/*
 * 1 when text either fails to load or loads with conninfo equal to want
 * and max_body_bytes equal to body: never another key's line as a value.
 */
static int
loads_as_written(const char *text, const char *want, int body)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];
	int rc, ok;

	rc = load(&cfg, text, err);
	ok = rc == -1 || (rc == 0 && cfg.db_conninfo != NULL &&
	    strcmp(cfg.db_conninfo, want) == 0 && cfg.max_body_bytes == body);
	if (!ok)
		fprintf(stderr, "  rc %d, conninfo \"%s\", max_body_bytes %d\n",
		    rc, cfg.db_conninfo != NULL ? cfg.db_conninfo : "(null)",
		    cfg.max_body_bytes);
	config_free(&cfg);
	return ok;
}

/*
 * inih takes an indented line as the continuation of the previous value
 * (INI_ALLOW_MULTILINE): indented keys must not silently become the value
 * of the key above them.
 */
static void
test_indented_keys(void)
{
	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(loads_as_written("[auth]\njwt_secret_file = @SECRET@\n"
	    "[database]\n"
	    "  conninfo = dbname=chat\n"
	    "  max_body_bytes = 2048\n", "dbname=chat", 65536));
	CHECK(loads_as_written("[auth]\njwt_secret_file = @SECRET@\n"
	    "[database]\n"
	    "conninfo = dbname=chat\n"
	    "[http]\n"
	    "  cors_origins = https://chat.example.org\n"
	    "  max_body_bytes = 2048\n", "dbname=chat", 2048));
}

/* A continuation line must not replace the value it continues. */
static void
test_continuation_line(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];
	int rc;

	CHECK(write_secret(SECRET, 0600) == 0);
	rc = load(&cfg, "[auth]\njwt_secret_file = @SECRET@\n"
	    "[database]\n"
	    "conninfo = host=db\n"
	    "    dbname=chat\n", err);
	CHECK(rc == -1 || (rc == 0 && cfg.db_conninfo != NULL &&
	    strstr(cfg.db_conninfo, "host=db") != NULL &&
	    strstr(cfg.db_conninfo, "dbname=chat") != NULL));
	config_free(&cfg);
}

/*
 * Lines longer than inih's buffer (200 bytes) are read in pieces: a long
 * value must be loaded whole or refused, never cut short.
 */
static void
test_long_value(void)
{
	char value[400], text[1024];

	CHECK(write_secret(SECRET, 0600) == 0);
	memset(value, 'a', sizeof(value));
	memcpy(value, "dbname=chat password=", 21);
	value[300] = '\0';
	snprintf(text, sizeof(text), "[database]\nconninfo = %s\n"
	    "[auth]\njwt_secret_file = @SECRET@\n", value);
	CHECK(loads_as_written(text, value, 65536));

	/* The piece after the cut starts with '#': a comment to inih. */
	value[188] = '#';
	snprintf(text, sizeof(text), "[database]\nconninfo = %s\n"
	    "[auth]\njwt_secret_file = @SECRET@\n", value);
	CHECK(loads_as_written(text, value, 65536));
}

/*
 * The shipped example (found through $top_srcdir, which make check sets)
 * loads, with our secret file, and shows the defaults as it says.
 */
static void
test_example_file(void)
{
	const char *top = getenv("top_srcdir");
	char path[PATH_MAX], text[16384], line[1024], err[CONFIG_ERRLEN];
	struct config ex, def;
	size_t n = 0;
	FILE *fp;

	if (top == NULL) {
		printf("top_srcdir not set: example file not checked\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/etc/chat.conf.example", top);
	fp = fopen(path, "r");
	CHECK(fp != NULL);
	if (fp == NULL)
		return;
	/* The same file, with our secret file in place of the real one. */
	while (fgets(line, sizeof(line), fp) != NULL && n < sizeof(text))
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
		    strncmp(line, "jwt_secret_file", 15) == 0 ?
		    "jwt_secret_file = @SECRET@\n" : line);
	fclose(fp);
	CHECK(n < sizeof(text));

	CHECK(write_secret(SECRET, 0600) == 0);
	CHECK(load(&def, REQUIRED, err) == 0);
	CHECK(load(&ex, text, err) == 0);
	if (err[0] != '\0')
		fprintf(stderr, "  %s: %s\n", path, err);
	CHECK(ex.access_token_minutes == def.access_token_minutes);
	CHECK(ex.refresh_token_days == def.refresh_token_days);
	CHECK(ex.max_body_bytes == def.max_body_bytes);
	CHECK(ex.log_level == def.log_level);
	CHECK(ex.presence_timeout_seconds == def.presence_timeout_seconds);
	CHECK(ex.cors_origins != NULL && def.cors_origins != NULL &&
	    strcmp(ex.cors_origins, def.cors_origins) == 0);
	CHECK(ex.db_pooled == 0 && def.db_pooled == 0);
	CHECK(ex.db_fcgi_conninfo != NULL && ex.db_fcgi_conninfo[0] == '\0');
	CHECK(ex.db_replica_conninfo != NULL &&
	    ex.db_replica_conninfo[0] == '\0');
	CHECK(ex.db_replica_wait_ms == def.db_replica_wait_ms);
	config_free(&ex);
	config_free(&def);
}

static void
test_no_config_file(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN], path[PATH_MAX], want[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/absent.conf", dir);
	snprintf(want, sizeof(want), "%s: cannot open", path);
	CHECK(config_load(&cfg, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, want) != NULL);
	config_free(&cfg);
}

/* A failed load leaves nothing behind once freed (LeakSanitizer checks). */
static void
test_free_after_failure(void)
{
	struct config cfg;
	char err[CONFIG_ERRLEN];

	CHECK(write_secret(SECRET, 0644) == 0);
	CHECK(load(&cfg, REQUIRED "[http]\ncors_origins = *\n", err) == -1);
	config_free(&cfg);
	CHECK(cfg.db_conninfo == NULL && cfg.cors_origins == NULL &&
	    cfg.jwt_secret_file == NULL && cfg.jwt_secret_len == 0);
	/* And twice is harmless. */
	config_free(&cfg);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/chat.conf", dir);
	snprintf(secret_path, sizeof(secret_path), "%s/secret", dir);
	snprintf(previous_path, sizeof(previous_path), "%s/secret.previous",
	    dir);

	test_full_file();
	test_defaults();
	test_log_levels();
	test_secret_file();
	test_secret_length();
	test_secret_mode();
	test_secret_missing();
	test_previous_secret();
	test_reload_secrets();
	test_unknown_key();
	test_int_range();
	test_int_syntax();
	test_bad_log_level();
	test_missing_required();
	test_syntax_error();
	test_first_error_named();
	test_indented_keys();
	test_continuation_line();
	test_long_value();
	test_example_file();
	test_no_config_file();
	test_free_after_failure();

	unlink(conf_path);
	unlink(secret_path);
	unlink(previous_path);
	if (rmdir(dir) == -1)
		perror(dir);
	return check_done("config");
}
