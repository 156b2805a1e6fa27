/* What every request handler of the FastCGI application may use. */
#ifndef CHAT_APP_H
#define CHAT_APP_H

#include "config.h"
#include "db.h"
#include "ratelimit.h"

struct app {
	struct config	 cfg;
	struct db	 db;		/* the primary */
	/* History and search, when a replica is configured (replica.h);
	 * after a failed connection, not tried again before retry_at. */
	struct db	 replica;
	double		 replica_retry_at;
	/* Verified against when a login names no account, so that an
	 * unknown name costs as much time as a wrong password. */
	char		*dummy_hash;
	/* The rate limits of chat.conf: given to each database session, or
	 * checked to be there behind a pooler (main.c). */
	char		 ratelimit_buf[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE];
	const char	*ratelimit_params[RATELIMIT_NPARAMS];
};

#endif
