/*
 * Unit tests of shared/log.c: the priority prefix of every line, one line
 * per message, log_quote() and the client address rule of clientaddr.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "clientaddr.h"
#include "log.h"

static FILE *captured;
static int saved_stderr = -1;

/* From here on stderr goes to a temporary file, until logged(). */
static void
capture(void)
{
	fflush(stderr);
	if (captured == NULL && (captured = tmpfile()) == NULL) {
		perror("tmpfile");
		exit(2);
	}
	if (saved_stderr == -1 && (saved_stderr = dup(STDERR_FILENO)) == -1) {
		perror("dup");
		exit(2);
	}
	if (ftruncate(fileno(captured), 0) == -1 ||
	    lseek(fileno(captured), 0, SEEK_SET) == -1 ||
	    dup2(fileno(captured), STDERR_FILENO) == -1) {
		perror("capture");
		exit(2);
	}
}

/* What was logged since capture(), "[PID]" for the pid; stderr back. */
static const char *
logged(void)
{
	static char buf[4096];
	char raw[4096], pid[32];
	ssize_t n;
	size_t out = 0, pidlen;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	n = pread(fileno(captured), raw, sizeof(raw) - 1, 0);
	raw[n > 0 ? n : 0] = '\0';
	pidlen = (size_t)snprintf(pid, sizeof(pid), "[%d]", (int)getpid());
	for (const char *p = raw; *p != '\0' && out < sizeof(buf) - 6;) {
		if (strncmp(p, pid, pidlen) == 0) {
			memcpy(buf + out, "[PID]", 5);
			out += 5;
			p += pidlen;
		} else
			buf[out++] = *p++;
	}
	buf[out] = '\0';
	return buf;
}

static void
test_priorities(void)
{
	log_set_level(LOG_LEVEL_DEBUG);
	capture();
	log_debug("d %d", 1);
	CHECK(strcmp(logged(), "<7>test_log[PID]: debug: d 1\n") == 0);
	capture();
	log_info("i");
	CHECK(strcmp(logged(), "<6>test_log[PID]: info: i\n") == 0);
	capture();
	log_warnx("w");
	CHECK(strcmp(logged(), "<4>test_log[PID]: warn: w\n") == 0);
	capture();
	errno = ENOENT;
	log_warn("w");
	CHECK(strcmp(logged(), "<4>test_log[PID]: warn: w: No such file or "
	    "directory\n") == 0);
	capture();
	log_errorx("e");
	CHECK(strcmp(logged(), "<3>test_log[PID]: error: e\n") == 0);
}

static void
test_threshold(void)
{
	log_set_level(LOG_LEVEL_WARN);
	capture();
	log_debug("d");
	log_info("i");
	CHECK(strcmp(logged(), "") == 0);
	capture();
	log_warnx("w");
	CHECK(strcmp(logged(), "<4>test_log[PID]: warn: w\n") == 0);
	log_set_level(LOG_LEVEL_INFO);
}

/* A database error's newlines would start lines of no priority. */
static void
test_one_line(void)
{
	capture();
	log_warnx("database: %s", "could not connect\n\tIs the server "
	    "running?\n");
	CHECK(strcmp(logged(), "<4>test_log[PID]: warn: database: could not "
	    "connect  Is the server running?\n") == 0);
	capture();
	log_info("a\rb\033c\177d");
	CHECK(strcmp(logged(), "<6>test_log[PID]: info: a b c d\n") == 0);
	capture();
	log_db_notice(NULL, "FATAL:  terminating connection\n");
	CHECK(strcmp(logged(), "<4>test_log[PID]: warn: database: FATAL:  "
	    "terminating connection\n") == 0);
}

static void
test_fatal(void)
{
	int status = 0;
	pid_t pid;

	capture();
	if ((pid = fork()) == 0)
		fatalx("gone %s", "now");
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	/* The child's pid, not ours. */
	CHECK(strncmp(logged(), "<3>test_log[", 12) == 0);
	CHECK(strstr(logged(), "]: error: gone now\n") != NULL);
}

static void
test_quote(void)
{
	char buf[LOG_QUOTE_SIZE], small[12];
	char long_name[300];

	CHECK(strcmp(log_quote("alice", buf, sizeof(buf)), "\"alice\"") == 0);
	CHECK(strcmp(log_quote("", buf, sizeof(buf)), "\"\"") == 0);
	CHECK(strcmp(log_quote("a\"b\\c", buf, sizeof(buf)),
	    "\"a\\\"b\\\\c\"") == 0);
	CHECK(strcmp(log_quote("a\nb\x01\x7f", buf, sizeof(buf)),
	    "\"a\\x0ab\\x01\\x7f\"") == 0);
	CHECK(strcmp(log_quote("\xc3\xa9", buf, sizeof(buf)),
	    "\"\\xc3\\xa9\"") == 0);
	/* Cut short, within size, never in the middle of an escape. */
	CHECK(strcmp(log_quote("abcdefghijkl", small, sizeof(small)),
	    "\"abcdef...\"") == 0);
	CHECK(strcmp(log_quote("ab\x01zzzzzz", small, sizeof(small)),
	    "\"ab\\x01...\"") == 0);
	CHECK(strcmp(log_quote("abc\x01zzzzzz", small, sizeof(small)),
	    "\"abc...\"") == 0);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	log_quote(long_name, buf, sizeof(buf));
	CHECK(strlen(buf) == sizeof(buf) - 1);
	CHECK(strcmp(buf + strlen(buf) - 4, "...\"") == 0);
	CHECK(strcmp(log_quote("abc", small, 7), "") == 0);
}

static const char *
client(const char *trusted, const char *remote, const char *xff)
{
	static char out[CLIENTADDR_SIZE];

	clientaddr_get(trusted, remote, xff, out);
	return out;
}

static void
test_clientaddr(void)
{
	CHECK(strcmp(client("", "192.0.2.1", "198.51.100.7"),
	    "192.0.2.1") == 0);
	CHECK(strcmp(client("127.0.0.1", "127.0.0.1", "198.51.100.7"),
	    "198.51.100.7") == 0);
	CHECK(strcmp(client("127.0.0.1 10.0.0.0/8", "127.0.0.1",
	    "198.51.100.7, 10.1.2.3"), "198.51.100.7") == 0);
	CHECK(strcmp(client("127.0.0.1", "::ffff:127.0.0.1", "2001:db8::1"),
	    "2001:db8::1") == 0);
	CHECK(strcmp(client("127.0.0.1", "127.0.0.1", "not an address"),
	    "127.0.0.1") == 0);
	CHECK(strcmp(client("127.0.0.1", "127.0.0.1", NULL), "127.0.0.1") == 0);
	CHECK(strcmp(client("", NULL, NULL), "-") == 0);
	CHECK(strcmp(client("", "nonsense", NULL), "-") == 0);
}

int
main(void)
{
	log_init("test_log", LOG_LEVEL_INFO);
	test_priorities();
	test_threshold();
	test_one_line();
	test_fatal();
	test_quote();
	test_clientaddr();
	return check_done("test_log");
}
