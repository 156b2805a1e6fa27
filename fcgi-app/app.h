/* What every request handler of the FastCGI application may use. */
#ifndef CHAT_APP_H
#define CHAT_APP_H

#include "config.h"
#include "db.h"
#include "ratelimit.h"

struct app {
	struct config	 cfg;
	struct db	 db;
	/* Verified against when a login names no account, so that an
	 * unknown name costs as much time as a wrong password. */
	char		*dummy_hash;
	/* The rate limits given to each database session (db_setup). */
	char		 ratelimit_buf[RATELIMIT_NPARAMS][RATELIMIT_PARAM_SIZE];
	const char	*ratelimit_params[RATELIMIT_NPARAMS];
};

#endif
