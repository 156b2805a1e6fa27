#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"

enum config_type {
	CONFIG_STRING,
	CONFIG_INT,
	CONFIG_LEVEL,
};

struct config_key {
	const char	*section;
	const char	*name;
	enum config_type type;
	const char	*def;		/* NULL: the key is required */
	long		 min, max;	/* for CONFIG_INT */
	size_t		 offset;
};

/* inih reads lines into a 200-byte buffer. */
#define CONFIG_LINE_MAX	190
#define CONFIG_FILE_MAX	(64 * 1024)

#define KEY(sec, nm, ty, df, lo, hi, field) \
	{ sec, nm, ty, df, lo, hi, offsetof(struct config, field) }

/* Every key of the file, by section, alphabetical within a section. */
static const struct config_key config_keys[] = {
	KEY("auth", "access_token_minutes", CONFIG_INT, "30", 1, 1440,
	    access_token_minutes),
	KEY("auth", "jwt_secret_file", CONFIG_STRING, NULL, 0, 0,
	    jwt_secret_file),
	KEY("auth", "refresh_token_days", CONFIG_INT, "7", 1, 365,
	    refresh_token_days),
	KEY("database", "conninfo", CONFIG_STRING, NULL, 0, 0, db_conninfo),
	KEY("database", "fcgi_conninfo", CONFIG_STRING, "", 0, 0,
	    db_fcgi_conninfo),
	KEY("database", "pooled", CONFIG_INT, "0", 0, 1, db_pooled),
	KEY("database", "replica_conninfo", CONFIG_STRING, "", 0, 0,
	    db_replica_conninfo),
	KEY("database", "replica_wait_ms", CONFIG_INT, "200", 0, 10000,
	    db_replica_wait_ms),
	KEY("groups", "max_members", CONFIG_INT, "256", 2, 1000,
	    groups_max_members),
	KEY("http", "cors_origins", CONFIG_STRING,
	    "http://localhost:5173 http://127.0.0.1:5173", 0, 0, cors_origins),
	KEY("http", "max_body_bytes", CONFIG_INT, "65536", 1024, 1048576,
	    max_body_bytes),
	KEY("http", "trusted_proxies", CONFIG_STRING, "", 0, 0,
	    trusted_proxies),
	KEY("limits", "login_failure_window_seconds", CONFIG_INT, "900", 1,
	    86400, limits_login_failure_window_seconds),
	KEY("limits", "login_failures_per_account", CONFIG_INT, "10", 1,
	    1000000, limits_login_failures_per_account),
	KEY("limits", "login_failures_per_address", CONFIG_INT, "100", 1,
	    1000000, limits_login_failures_per_address),
	KEY("limits", "read_burst", CONFIG_INT, "200", 1, 1000000,
	    limits_read_burst),
	KEY("limits", "read_per_second", CONFIG_INT, "50", 1, 1000000,
	    limits_read_per_second),
	KEY("limits", "registration_window_seconds", CONFIG_INT, "3600", 1,
	    86400, limits_registration_window_seconds),
	KEY("limits", "registrations_per_address", CONFIG_INT, "20", 1,
	    1000000, limits_registrations_per_address),
	KEY("limits", "send_burst", CONFIG_INT, "60", 1, 1000000,
	    limits_send_burst),
	KEY("limits", "send_per_second", CONFIG_INT, "20", 1, 1000000,
	    limits_send_per_second),
	KEY("limits", "typing_burst", CONFIG_INT, "10", 1, 1000000,
	    limits_typing_burst),
	KEY("limits", "typing_per_second", CONFIG_INT, "10", 1, 1000000,
	    limits_typing_per_second),
	KEY("log", "level", CONFIG_LEVEL, "info", 0, 0, log_level),
	KEY("metrics", "fcgi_file", CONFIG_STRING, "/run/chat/fcgi-metrics",
	    0, 0, metrics_fcgi_file),
	KEY("metrics", "push_address", CONFIG_STRING, "127.0.0.1", 0, 0,
	    metrics_push_address),
	KEY("metrics", "push_port_offset", CONFIG_INT, "1000", 0, 65534,
	    metrics_push_port_offset),
	KEY("presence", "node_timeout_seconds", CONFIG_INT, "30", 3, 3600,
	    presence_timeout_seconds),
	KEY("push", "listen_address", CONFIG_STRING, "127.0.0.1", 0, 0,
	    push_listen_address),
	KEY("push", "listen_port", CONFIG_INT, "8001", 1, 65535,
	    push_listen_port),
	KEY("push", "max_connections", CONFIG_INT, "20000", 1, 1000000,
	    push_max_connections),
	KEY("push", "max_connections_per_account", CONFIG_INT, "16", 1, 1000,
	    push_max_per_account),
	KEY("push", "max_database_queries", CONFIG_INT, "65536", 16, 1048576,
	    push_max_db_queries),
	KEY("push", "max_frame_bytes", CONFIG_INT, "65536", 1024, 1048576,
	    push_max_frame_bytes),
	KEY("push", "max_queue_bytes", CONFIG_INT, "1048576", 65536, 67108864,
	    push_max_queue_bytes),
	KEY("push", "max_waiting_requests", CONFIG_INT, "32", 1, 100000,
	    push_max_waiting_requests),
	KEY("push", "node_id", CONFIG_STRING, "node-1", 0, 0, push_node_id),
	KEY("push", "ping_seconds", CONFIG_INT, "30", 2, 3600,
	    push_ping_seconds),
	KEY("push", "poll_seconds", CONFIG_INT, "2", 1, 60, push_poll_seconds),
	KEY("push", "undelivered_max", CONFIG_INT, "1000", 1, 100000,
	    push_undelivered_max),
	KEY("sync", "retention_days", CONFIG_INT, "7", 1, 365,
	    sync_retention_days),
};

#define CONFIG_NKEYS (sizeof(config_keys) / sizeof(config_keys[0]))

struct config_parse {
	struct config	*cfg;
	char		*err;
	size_t		 errlen;
	int		 seen[CONFIG_NKEYS];
	int		 failed;
};

static int
config_set(struct config *cfg, const struct config_key *key,
    const char *value, char *err, size_t errlen)
{
	char *field = (char *)cfg + key->offset;
	char *end;
	long n;

	switch (key->type) {
	case CONFIG_STRING: {
		char *copy = strdup(value);

		if (copy == NULL) {
			snprintf(err, errlen, "%s.%s: out of memory",
			    key->section, key->name);
			return -1;
		}
		free(*(char **)(void *)field);
		*(char **)(void *)field = copy;
		return 0;
	}
	case CONFIG_INT:
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' ||
		    n < key->min || n > key->max) {
			snprintf(err, errlen, "%s.%s: must be an integer "
			    "from %ld to %ld", key->section, key->name,
			    key->min, key->max);
			return -1;
		}
		*(int *)(void *)field = (int)n;
		return 0;
	case CONFIG_LEVEL:
		if (log_level_parse(value,
		    (enum log_level *)(void *)field) == -1) {
			snprintf(err, errlen, "%s.%s: must be one of debug, "
			    "info, warn, error", key->section, key->name);
			return -1;
		}
		return 0;
	}
	return -1;
}

/* inih calls this for every name = value line; returning 0 stops parsing. */
static int
config_line(void *arg, const char *section, const char *name,
    const char *value)
{
	struct config_parse *p = arg;

	/* Debian's inih goes on after an error: keep the first one. */
	if (p->failed)
		return 0;
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *key = &config_keys[i];

		if (strcmp(key->section, section) != 0 ||
		    strcmp(key->name, name) != 0)
			continue;
		/* inih also reads an indented line as more of the key above:
		 * a key seen twice is refused rather than overwritten. */
		if (p->seen[i]) {
			snprintf(p->err, p->errlen, "%s.%s: given twice (or "
			    "followed by an indented line)", section, name);
			p->failed = 1;
			return 0;
		}
		if (config_set(p->cfg, key, value, p->err, p->errlen) == -1) {
			p->failed = 1;
			return 0;
		}
		p->seen[i] = 1;
		return 1;
	}
	snprintf(p->err, p->errlen, "%s.%s: unknown key", section, name);
	p->failed = 1;
	return 0;
}

/* What tells that a secret file changed: chatctl secret rotate replaces
 * the files, each by a rename. */
static void
config_stamp(struct config_stamp *stamp, const struct stat *st)
{
	memset(stamp, 0, sizeof(*stamp));
	if (st == NULL)
		return;
	stamp->present = 1;
	stamp->dev = st->st_dev;
	stamp->ino = st->st_ino;
	stamp->size = st->st_size;
	stamp->mtime = st->st_mtim;
}

static int
config_stamp_same(const struct config_stamp *a, const struct config_stamp *b)
{
	return a->present == b->present && a->dev == b->dev &&
	    a->ino == b->ino && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec &&
	    a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/*
 * Reads a secret file into buf (CONFIG_SECRET_MAX bytes), *len its length
 * less trailing blanks, *stamp what it is. The secret must be private to
 * the service's user: a file that others may read is refused, as ssh does
 * with private keys. what names the file in messages. Returns 0, -1, or
 * 1 when an optional file is absent.
 */
static int
config_read_secret_file(const char *path, const char *what, int optional,
    unsigned char *buf, size_t *len, struct config_stamp *stamp, char *err,
    size_t errlen)
{
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (optional && errno == ENOENT) {
			config_stamp(stamp, NULL);
			return 1;
		}
		snprintf(err, errlen, "%s: cannot open: %s", what,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", what);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: readable by group or others (use "
		    "mode 0600)", what);
		goto fail;
	}
	n = read(fd, buf, CONFIG_SECRET_MAX);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", what,
		    strerror(errno));
		goto fail;
	}
	if ((size_t)n == CONFIG_SECRET_MAX) {
		snprintf(err, errlen, "%s: longer than %d bytes", what,
		    CONFIG_SECRET_MAX - 1);
		goto fail;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' '))
		n--;
	if (n < CONFIG_SECRET_MIN) {
		snprintf(err, errlen, "%s: secret shorter than %d bytes", what,
		    CONFIG_SECRET_MIN);
		goto fail;
	}
	*len = (size_t)n;
	config_stamp(stamp, &st);
	close(fd);
	return 0;
fail:
	explicit_bzero(buf, CONFIG_SECRET_MAX);
	close(fd);
	return -1;
}

int
config_previous_path(const struct config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s%s", cfg->jwt_secret_file,
	    CONFIG_PREVIOUS_SUFFIX);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The secret, and the previous one when its file exists. */
static int
config_read_secrets(struct config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX], what[PATH_MAX + 64];

	if (config_read_secret_file(cfg->jwt_secret_file,
	    "auth.jwt_secret_file", 0, cfg->jwt_secret, &cfg->jwt_secret_len,
	    &cfg->secret_stamp[0], err, errlen) == -1)
		return -1;
	if (config_previous_path(cfg, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "auth.jwt_secret_file: path too long");
		return -1;
	}
	snprintf(what, sizeof(what), "auth.jwt_secret_file: %s", path);
	cfg->jwt_previous_len = 0;
	return config_read_secret_file(path, what, 1, cfg->jwt_previous,
	    &cfg->jwt_previous_len, &cfg->secret_stamp[1], err, errlen) ==
	    -1 ? -1 : 0;
}

int
config_reload_secrets(struct config *cfg, char *err, size_t errlen)
{
	struct config_stamp now[2];
	struct config fresh;
	char path[PATH_MAX];
	struct stat st;
	int rc;

	if (cfg->jwt_secret_file == NULL)
		return 0;
	config_stamp(&now[0], stat(cfg->jwt_secret_file, &st) == 0 ? &st :
	    NULL);
	if (config_previous_path(cfg, path, sizeof(path)) == -1)
		return 0;
	config_stamp(&now[1], stat(path, &st) == 0 ? &st : NULL);
	if (config_stamp_same(&now[0], &cfg->secret_stamp[0]) &&
	    config_stamp_same(&now[1], &cfg->secret_stamp[1]))
		return 0;
	/* Not again until the files change again, whatever comes of it. */
	cfg->secret_stamp[0] = now[0];
	cfg->secret_stamp[1] = now[1];
	memset(&fresh, 0, sizeof(fresh));
	fresh.jwt_secret_file = cfg->jwt_secret_file;
	if (config_read_secrets(&fresh, err, errlen) == -1)
		rc = -1;
	else {
		memcpy(cfg->jwt_secret, fresh.jwt_secret, sizeof(cfg->jwt_secret));
		cfg->jwt_secret_len = fresh.jwt_secret_len;
		memcpy(cfg->jwt_previous, fresh.jwt_previous,
		    sizeof(cfg->jwt_previous));
		cfg->jwt_previous_len = fresh.jwt_previous_len;
		rc = 1;
	}
	explicit_bzero(fresh.jwt_secret, sizeof(fresh.jwt_secret));
	explicit_bzero(fresh.jwt_previous, sizeof(fresh.jwt_previous));
	return rc;
}

/*
 * Reads the whole file, refusing lines longer than inih's line buffer,
 * which would otherwise split them silently.
 */
static char *
config_read_file(const char *path, char *err, size_t errlen)
{
	char *text = malloc(CONFIG_FILE_MAX + 1);
	size_t n = 0, line = 1, col = 0;
	FILE *f;

	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		free(text);
		return NULL;
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	fclose(f);
	if (n > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CONFIG_FILE_MAX);
		free(text);
		return NULL;
	}
	text[n] = '\0';
	for (size_t i = 0; i < n; i++, col++) {
		if (text[i] == '\0' || col >= CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s: line %zu: %s", path, line,
			    text[i] == '\0' ? "NUL byte" :
			    "longer than 190 characters");
			free(text);
			return NULL;
		}
		if (text[i] == '\n') {
			line++;
			col = (size_t)-1;
		}
	}
	return text;
}

int
config_defaults(struct config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		const struct config_key *key = &config_keys[i];

		if (key->def != NULL &&
		    config_set(cfg, key, key->def, err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse p = { .cfg = cfg, .err = err, .errlen = errlen };
	char *text;
	int line;

	if (config_defaults(cfg, err, errlen) == -1)
		return -1;
	if ((text = config_read_file(path, err, errlen)) == NULL)
		return -1;
	line = ini_parse_string(text, config_line, &p);
	free(text);
	if (p.failed)
		return -1;
	if (line != 0) {
		snprintf(err, errlen, "%s: syntax error on line %d", path, line);
		return -1;
	}
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].def == NULL && !p.seen[i]) {
			snprintf(err, errlen, "%s.%s: missing (required)",
			    config_keys[i].section, config_keys[i].name);
			return -1;
		}
	}
	return config_read_secrets(cfg, err, errlen);
}

const char *
config_default_path(void)
{
	const char *path = getenv("CHAT_CONFIG");

	return path != NULL && path[0] != '\0' ? path : CONFIG_DEFAULT_PATH;
}

void
config_free(struct config *cfg)
{
	for (size_t i = 0; i < CONFIG_NKEYS; i++) {
		if (config_keys[i].type == CONFIG_STRING) {
			char **field = (char **)(void *)((char *)cfg +
			    config_keys[i].offset);

			free(*field);
			*field = NULL;
		}
	}
	explicit_bzero(cfg->jwt_secret, sizeof(cfg->jwt_secret));
	cfg->jwt_secret_len = 0;
	explicit_bzero(cfg->jwt_previous, sizeof(cfg->jwt_previous));
	cfg->jwt_previous_len = 0;
}
