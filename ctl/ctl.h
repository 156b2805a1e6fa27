/*
 * chatctl: the operator's tool. It reads the configuration file of the
 * programs (shared/config.c), speaks to their database with libpq (every
 * statement with parameters), and reaches the push daemons through it:
 * deactivation and deletion by the events the daemons read, a kick by a
 * notification they listen for. Errors go to stderr as "chatctl: ...";
 * exit status 0, 1 on failure, 2 on a usage mistake.
 */
#ifndef CHAT_CTL_H
#define CHAT_CTL_H

#include <stdio.h>

#include <libpq-fe.h>

#include "config.h"
#include "uuid.h"

#define CTL_USERNAME_SIZE	64
#define CTL_EMAIL_SIZE		256

struct ctl {
	const char	*config_path;
	const char	*sql_dir;	/* sql/migrate and its files */
	struct config	 cfg;
	int		 cfg_loaded;
	PGconn		*db;
};

/* An account, as the commands name it. */
struct ctl_account {
	char		 id[UUID_TEXT_SIZE];
	char		 username[CTL_USERNAME_SIZE];
	char		 email[CTL_EMAIL_SIZE];
	int		 active;
};

/* chatctl.c */
/* The configuration, loaded once; exits 1 when it is not valid. */
void		 ctl_config(struct ctl *ctl);
/* The database connection, opened once; exits 1 when it cannot be. */
PGconn		*ctl_db(struct ctl *ctl);
/*
 * Runs sql with params (text); returns its result, which the caller
 * clears. Exits 1, with the server's message, when the statement fails.
 */
PGresult	*ctl_query(struct ctl *ctl, const char *sql, int nparams,
		    const char *const *params);
/*
 * The account that who names (an id, an email, or a username, the last
 * two in any case) into *a; exits 1 when there is none.
 */
void		 ctl_account_find(struct ctl *ctl, const char *who,
		    struct ctl_account *a);
/* Wakes every push daemon, to read the events just committed. */
void		 ctl_wake_daemons(struct ctl *ctl);
/* Prints the usage to out and exits with status. */
void		 ctl_usage(FILE *out, int status) __attribute__((noreturn));

/* user.c: chatctl user add|show|deactivate|activate|delete|password */
int		 user_command(struct ctl *ctl, int argc, char *argv[]);

/* service.c */
int		 service_online(struct ctl *ctl, int argc, char *argv[]);
int		 service_kick(struct ctl *ctl, int argc, char *argv[]);
int		 service_stats(struct ctl *ctl, int argc, char *argv[]);

/* secret.c: chatctl secret rotate [--force] */
int		 secret_command(struct ctl *ctl, int argc, char *argv[]);

/* admin.c */
int		 admin_migrate(struct ctl *ctl, int argc, char *argv[]);
int		 admin_check(struct ctl *ctl, int argc, char *argv[]);

#endif
