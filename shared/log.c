#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "chat";
static enum log_level log_threshold = LOG_LEVEL_INFO;

/* Each level's name (the configuration's word) and sd-daemon priority. */
static const struct {
	const char	*name;
	int		 priority;
} log_levels[] = {
	[LOG_LEVEL_DEBUG] = { "debug", 7 },
	[LOG_LEVEL_INFO] = { "info", 6 },
	[LOG_LEVEL_WARN] = { "warn", 4 },
	[LOG_LEVEL_ERROR] = { "error", 3 },
};

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_threshold = level;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

int
log_level_parse(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(name, log_levels[i].name) == 0) {
			*level = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/* Control characters become spaces, and trailing blanks go: one line. */
static void
log_one_line(char *msg)
{
	size_t len;

	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	len = strlen(msg);
	while (len > 0 && msg[len - 1] == ' ')
		msg[--len] = '\0';
}

/* One line per call, written with a single fprintf so lines do not mix. */
static void log_vwrite(enum log_level, int, const char *, va_list)
	    __attribute__((format(printf, 3, 0)));

static void
log_vwrite(enum log_level level, int with_errno, const char *fmt, va_list ap)
{
	char msg[1024], cause[256] = "";
	int saved_errno = errno;

	if (level < log_threshold)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_one_line(msg);
	if (with_errno)
		snprintf(cause, sizeof(cause), ": %s", strerror(saved_errno));
	fprintf(stderr, "<%d>%s[%d]: %s: %s%s\n", log_levels[level].priority,
	    log_progname, (int)getpid(), log_levels[level].name, msg, cause);
	errno = saved_errno;
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_errorx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

const char *
log_quote(const char *text, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[n++] = '"';
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0';
	    p++) {
		char esc[4];
		size_t len = 0;

		if (*p == '"' || *p == '\\') {
			esc[len++] = '\\';
			esc[len++] = (char)*p;
		} else if (*p >= 0x20 && *p < 0x7f)
			esc[len++] = (char)*p;
		else {
			esc[len++] = '\\';
			esc[len++] = 'x';
			esc[len++] = hex[*p >> 4];
			esc[len++] = hex[*p & 0xf];
		}
		/* Room for this, and for "..." and the closing quote. */
		if (n + len + 5 > size) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(buf + n, esc, len);
		n += len;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

void
log_db_notice(void *arg, const char *message)
{
	(void)arg;
	log_warnx("database: %s", message);
}
