/*
 * config_load(): the INI configuration file, checked key by key. It is a
 * local file, not network input, but a mistyped file must be refused with
 * a message, never crash a daemon. The input follows a jwt_secret_file
 * line of the harness's own (a second one is refused), so that no input
 * makes config_load() open another file.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <unistd.h>

#include "config.h"
#include "fuzz.h"

#define FUZZ_SECRET	"fuzz-secret-0123456789abcdef0123456789\n"

static int fuzz_conf_fd = -1;
static char fuzz_conf_path[64];
static char fuzz_prefix[128];

/* An anonymous file, reached by path through /proc/self/fd. */
static int
fuzz_memfile(const char *name, char *path, size_t pathlen)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd == -1)
		abort();
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char secret_path[64];
	int fd;

	(void)argc;
	(void)argv;
	fd = fuzz_memfile("secret", secret_path, sizeof(secret_path));
	if (write(fd, FUZZ_SECRET, sizeof(FUZZ_SECRET) - 1) !=
	    (ssize_t)sizeof(FUZZ_SECRET) - 1 || fchmod(fd, 0600) == -1)
		abort();
	snprintf(fuzz_prefix, sizeof(fuzz_prefix),
	    "[auth]\njwt_secret_file = %s\n", secret_path);
	fuzz_conf_fd = fuzz_memfile("chat.conf", fuzz_conf_path,
	    sizeof(fuzz_conf_path));
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t plen = strlen(fuzz_prefix);
	struct config cfg;
	char err[CONFIG_ERRLEN];

	if (ftruncate(fuzz_conf_fd, 0) == -1 ||
	    pwrite(fuzz_conf_fd, fuzz_prefix, plen, 0) != (ssize_t)plen ||
	    pwrite(fuzz_conf_fd, data, size, (off_t)plen) != (ssize_t)size)
		abort();
	err[0] = '\0';
	if (config_load(&cfg, fuzz_conf_path, err, sizeof(err)) == 0) {
		FUZZ_CHECK(cfg.db_conninfo != NULL);
		FUZZ_CHECK(cfg.jwt_secret_len >= CONFIG_SECRET_MIN);
		FUZZ_CHECK(cfg.max_body_bytes > 0);
	} else
		FUZZ_CHECK(err[0] != '\0' &&
		    memchr(err, '\0', sizeof(err)) != NULL);
	config_free(&cfg);
	return 0;
}
