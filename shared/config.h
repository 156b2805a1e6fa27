/*
 * The configuration file, shared by the FastCGI application and the push
 * daemon: an INI file whose keys are listed, with their types, defaults and
 * limits, in one table in config.c. Loading checks every key and names the
 * offending one in the error.
 */
#ifndef CHAT_CONFIG_H
#define CHAT_CONFIG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "log.h"

#define CONFIG_ERRLEN	256
/* The file the programs read without -c, unless $CHAT_CONFIG names one. */
#define CONFIG_DEFAULT_PATH	"/etc/chat/chat.conf"
/* The JWT secret file is read whole; a longer file is refused. */
#define CONFIG_SECRET_MAX	4096
#define CONFIG_SECRET_MIN	32
/*
 * The secret before the current one (chatctl secret rotate), in the file
 * of the current one with this suffix: tokens signed with it are still
 * accepted (never signed), so that a rotation logs nobody out.
 */
#define CONFIG_PREVIOUS_SUFFIX	".previous"

/* What a secret file was when read (config_reload_secrets()). */
struct config_stamp {
	int		 present;
	dev_t		 dev;
	ino_t		 ino;
	off_t		 size;
	struct timespec	 mtime;
};

struct config {
	/* Straight to PostgreSQL: the push daemons (LISTEN needs a
	 * session), chatctl, and chat-fcgi unless db_fcgi_conninfo is set. */
	char		*db_conninfo;
	/* chat-fcgi's connection ("": db_conninfo); db_pooled: it leads to a
	 * pooler in transaction mode (fcgi-app/db.h). */
	char		*db_fcgi_conninfo;
	int		 db_pooled;
	/* A streaming replica for history and search ("": none), and how
	 * long a read waits for it to catch up (fcgi-app/replica.h). */
	char		*db_replica_conninfo;
	int		 db_replica_wait_ms;
	char		*jwt_secret_file;
	int		 access_token_minutes;
	int		 refresh_token_days;
	char		*cors_origins;
	int		 max_body_bytes;
	char		*trusted_proxies;
	enum log_level	 log_level;
	int		 presence_timeout_seconds;
	/* Members of a new group at most, its leader included (§11). */
	int		 groups_max_members;

	/* The push daemon. */
	char		*push_listen_address;
	int		 push_listen_port;
	char		*push_node_id;
	int		 push_ping_seconds;
	int		 push_poll_seconds;
	int		 push_max_connections;
	int		 push_max_per_account;
	int		 push_max_frame_bytes;
	int		 push_max_db_queries;
	int		 push_max_queue_bytes;
	int		 push_undelivered_max;
	int		 sync_retention_days;
	int		 push_max_waiting_requests;

	/*
	 * Metrics (docs/OPERATIONS.md): chat-push serves them on its port
	 * plus push_port_offset (0: none), at push_address; the chat-fcgi
	 * processes count into the file fcgi_file ("": none).
	 */
	char		*metrics_fcgi_file;
	char		*metrics_push_address;
	int		 metrics_push_port_offset;

	/* Rate limits (CONTRACT §12, shared/ratelimit.h). */
	int		 limits_send_per_second;
	int		 limits_send_burst;
	int		 limits_typing_per_second;
	int		 limits_typing_burst;
	int		 limits_read_per_second;
	int		 limits_read_burst;
	int		 limits_login_failures_per_account;
	int		 limits_login_failures_per_address;
	int		 limits_login_failure_window_seconds;
	int		 limits_registrations_per_address;
	int		 limits_registration_window_seconds;

	/* Read from jwt_secret_file, and from the file of the previous
	 * secret when there is one (jwt_previous_len 0 when not); never
	 * logged. */
	unsigned char	 jwt_secret[CONFIG_SECRET_MAX];
	size_t		 jwt_secret_len;
	unsigned char	 jwt_previous[CONFIG_SECRET_MAX];
	size_t		 jwt_previous_len;
	struct config_stamp secret_stamp[2];	/* current, previous */
};

/*
 * Loads the file at path into cfg. Returns 0, or -1 with a message naming
 * the key (or line) in err. On -1 cfg must still be released with
 * config_free().
 */
int	config_load(struct config *cfg, const char *path, char *err,
	    size_t errlen);
/*
 * cfg with every key at its default (the required ones unset): what
 * config_load() starts from. Returns 0, or -1 with a message in err.
 */
int	config_defaults(struct config *cfg, char *err, size_t errlen);
void	config_free(struct config *cfg);

/*
 * Reads the secret files again if they changed since they were read (a
 * stat of each: cheap enough to call every second). Returns 0 when they
 * did not, 1 when cfg holds their new secrets, -1 with a message in err
 * when they are not valid (cfg keeps its secrets; not tried again until
 * they change again).
 */
int	config_reload_secrets(struct config *cfg, char *err, size_t errlen);

/* The path of the previous secret's file into buf: 0, or -1 when it
 * does not fit. */
int	config_previous_path(const struct config *cfg, char *buf, size_t size);

/* The file to read without -c: $CHAT_CONFIG, else CONFIG_DEFAULT_PATH. */
const char *config_default_path(void);

#endif
