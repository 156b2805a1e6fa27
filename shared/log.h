/*
 * Logging to stderr: the web server collects a FastCGI process's stderr in
 * its error log, and the push daemon runs under a supervisor that does the
 * same (systemd's journal, or a file). Every line starts with its priority
 * as sd-daemon(3) writes it, "<3>" error, "<4>" warning, "<6>" info, "<7>"
 * debug, which journald reads as the line's priority; then the program,
 * its pid and the level in words. A message is one line: control
 * characters in it (a database error's newlines) become spaces. Never
 * pass a secret (password, token, JWT key) to these functions.
 */
#ifndef CHAT_LOG_H
#define CHAT_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_DEBUG,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,
};

/* The buffer of log_quote() for a log line: longer text is cut short. */
#define LOG_QUOTE_SIZE	128

void	log_init(const char *progname, enum log_level level);
void	log_set_level(enum log_level level);
int	log_level_parse(const char *name, enum log_level *level);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends the text of errno; log_warnx does not. */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Something is wrong with the service itself (not with a client or the
 * network): a 500 answered, a statement that does not prepare. */
void	log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Text a client chose (a login name), for a log line: in double quotes,
 * printable ASCII as it is but for '"' and '\' (escaped), every other
 * byte as \xNN, cut short with "..." where it would not fit in size
 * bytes. Returns buf.
 */
const char *log_quote(const char *text, char *buf, size_t size);

/* libpq's notice processor (PQsetNoticeProcessor): the server's notices
 * and the errors it sends outside a query, as warnings. */
void	log_db_notice(void *arg, const char *message);

#endif
