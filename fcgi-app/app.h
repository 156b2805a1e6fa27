/* What every request handler of the FastCGI application may use. */
#ifndef CHAT_APP_H
#define CHAT_APP_H

#include "config.h"
#include "db.h"

struct app {
	struct config	 cfg;
	struct db	 db;
	/* Verified against when a login names no account, so that an
	 * unknown name costs as much time as a wrong password. */
	char		*dummy_hash;
};

#endif
