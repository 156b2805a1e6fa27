/*
 * One HTTP request as the web server hands it over FastCGI. Routing uses
 * REQUEST_URI, the raw request target, which all three supported web
 * servers pass unchanged (SCRIPT_NAME and PATH_INFO differ between them).
 */
#ifndef CHAT_REQUEST_H
#define CHAT_REQUEST_H

#include <stddef.h>

#include <fcgiapp.h>

#include "clientaddr.h"
#include "form.h"
#include "uuid.h"

#define REQUEST_PREFIX		"/api/v1"
#define REQUEST_MAX_SEGMENTS	8
#define REQUEST_MAX_URI		4096

struct app;

struct request {
	struct app	*app;
	FCGX_Request	*fcgx;

	const char	*method;
	const char	*content_type;
	const char	*authorization;
	const char	*origin;
	/* The Idempotency-Key header as sent (NULL: absent). */
	const char	*idempotency_key;
	const char	*cors_method;	/* Access-Control-Request-Method */
	const char	*cors_headers;	/* Access-Control-Request-Headers */

	/* The path below /api/v1, split and percent-decoded. in_api is 0
	 * for a path outside /api/v1 or one too long to route. */
	int		 in_api;
	char		*segments[REQUEST_MAX_SEGMENTS];
	int		 nsegments;
	/* Path segments captured by the matched route, in order. */
	const char	*params[REQUEST_MAX_SEGMENTS];
	int		 nparams;

	struct form	 query;
	/*
	 * Where the request target holds a control character once
	 * percent-decoded (CONTRACT §12: refused, never cut off): NULL,
	 * "path" or "query"; control_field names the query field, when one
	 * does, and control_nul tells a NUL from the other controls.
	 */
	const char	*control_in;
	const char	*control_field;
	int		 control_nul;

	char		*body;		/* NUL-terminated */
	size_t		 body_len;
	int		 body_too_large;

	int		 cors_allowed;	/* Origin is on the allowed list */
	/*
	 * The client's address, for the limits per address (CONTRACT §12)
	 * and log lines: REMOTE_ADDR, or when that is a trusted proxy
	 * (http.trusted_proxies) the last X-Forwarded-For entry that is not
	 * one ("-": none known). shared/clientaddr.c.
	 */
	char		 client_addr[CLIENTADDR_SIZE];
	char		 account_id[UUID_TEXT_SIZE];	/* once authenticated */
};

/* Reads the request's variables and body. Returns 0, or -1 out of memory. */
int	request_read(struct request *rq, struct app *app, FCGX_Request *fcgx);
void	request_free(struct request *rq);

#endif
