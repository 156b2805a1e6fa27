/*
 * chatctl secret rotate: a new JWT secret that logs nobody out. The
 * current secret moves to the file of the previous one
 * (auth.jwt_secret_file plus CONFIG_PREVIOUS_SUFFIX), with which the
 * programs still verify tokens, never sign them; a new random secret
 * takes its place. Both files are replaced by a rename, keeping the
 * owner and mode of the current one, and the programs read them again
 * within a second of the change (config_reload_secrets()). Run it as the
 * user who may write the secret's directory (root, for /etc/chat).
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* Random bytes of a new secret, written in hexadecimal. */
#define SECRET_BYTES	32

/* The whole file at path, as it is, into buf (CONFIG_SECRET_MAX). */
static size_t
secret_read(const char *path, unsigned char *buf)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		err(1, "%s", path);
	n = read(fd, buf, CONFIG_SECRET_MAX);
	if (n < 0)
		err(1, "%s", path);
	close(fd);
	return (size_t)n;
}

/* Makes dir's entries durable (the renames). */
static void
secret_sync_dir(const char *path)
{
	char copy[PATH_MAX];
	int fd;

	snprintf(copy, sizeof(copy), "%s", path);
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return;
	fsync(fd);
	close(fd);
}

/*
 * Replaces path by a file holding data, with the owner, group and mode
 * (its permission bits) of like: written beside it, then renamed over.
 */
static void
secret_replace(const char *path, const void *data, size_t len,
    const struct stat *like)
{
	char tmp[PATH_MAX];
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		errx(1, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		err(1, "cannot create a file beside %s", path);
	if (fchmod(fd, like->st_mode & 0700) == -1 ||
	    (fchown(fd, like->st_uid, like->st_gid) == -1 &&
	    (like->st_uid != geteuid() || errno != EPERM)) ||
	    write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		warn("%s", tmp);
		close(fd);
		unlink(tmp);
		exit(1);
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		warn("%s", path);
		unlink(tmp);
		exit(1);
	}
}

/* A new secret: SECRET_BYTES random bytes in hexadecimal, a newline. */
static size_t
secret_new(char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[SECRET_BYTES];
	size_t n = 0;

	if (size < 2 * SECRET_BYTES + 2)
		errx(1, "secret buffer too small");
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		err(1, "getrandom");
	for (size_t i = 0; i < sizeof(raw); i++) {
		buf[n++] = hex[raw[i] >> 4];
		buf[n++] = hex[raw[i] & 0xf];
	}
	buf[n++] = '\n';
	buf[n] = '\0';
	explicit_bzero(raw, sizeof(raw));
	return n;
}

static void
secret_when(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(buf, size, "later");
}

static int
secret_rotate(struct ctl *ctl, int force)
{
	unsigned char old[CONFIG_SECRET_MAX];
	char previous[PATH_MAX], fresh[2 * SECRET_BYTES + 2], until[64];
	struct stat cur, prev;
	time_t now = time(NULL), valid_until;
	size_t len;

	ctl_config(ctl);
	if (config_previous_path(&ctl->cfg, previous, sizeof(previous)) == -1)
		errx(1, "auth.jwt_secret_file: path too long");
	if (stat(ctl->cfg.jwt_secret_file, &cur) == -1)
		err(1, "%s", ctl->cfg.jwt_secret_file);
	/*
	 * The previous secret goes: the refresh tokens it signed until the
	 * current one came may still be valid, and would be refused.
	 */
	valid_until = cur.st_mtime + (time_t)ctl->cfg.refresh_token_days *
	    86400;
	if (stat(previous, &prev) == 0 && valid_until > now && !force) {
		secret_when(valid_until, until, sizeof(until));
		errx(1, "the previous secret (%s) may have signed refresh "
		    "tokens valid until %s (auth.refresh_token_days): rotating "
		    "now would refuse them; rotate after that, or add --force",
		    previous, until);
	}

	len = secret_read(ctl->cfg.jwt_secret_file, old);
	secret_replace(previous, old, len, &cur);
	explicit_bzero(old, sizeof(old));
	len = secret_new(fresh, sizeof(fresh));
	secret_replace(ctl->cfg.jwt_secret_file, fresh, len, &cur);
	explicit_bzero(fresh, sizeof(fresh));
	secret_sync_dir(ctl->cfg.jwt_secret_file);

	secret_when(now + (time_t)ctl->cfg.refresh_token_days * 86400, until,
	    sizeof(until));
	printf("new secret in %s; the one before in %s, accepted until the "
	    "tokens it signed expire (by %s); chat-fcgi and chat-push take "
	    "both within a second\n", ctl->cfg.jwt_secret_file, previous,
	    until);
	return 0;
}

int
secret_command(struct ctl *ctl, int argc, char *argv[])
{
	int force = 0;

	if (argc == 3 && strcmp(argv[2], "--force") == 0)
		force = 1;
	else if (argc != 2)
		ctl_usage(stderr, 2);
	if (strcmp(argv[1], "rotate") != 0)
		ctl_usage(stderr, 2);
	return secret_rotate(ctl, force);
}
