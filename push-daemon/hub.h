/*
 * The push daemon's shared state: its configuration and node id, the
 * database connections, every session indexed by account (the index is
 * session.c's: a session enters and leaves it as its state changes), and
 * the accounts that may not connect. One hub per process, owned by main.c.
 */
#ifndef CHAT_HUB_H
#define CHAT_HUB_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "config.h"
#include "idmap.h"
#include "pg.h"
#include "session.h"

#define HUB_NODE_ID_MAX	64

struct hub {
	struct lws_context	*ctx;
	struct lws_vhost	*vhost;
	const struct config	*cfg;
	char			 node_id[HUB_NODE_ID_MAX];
	/* Three database connections, so that reading and pushing events
	 * never waits behind clients' requests nor behind the delivered
	 * marks (a commit each), nor they behind it. */
	struct pg		*pg;		/* requests, presence */
	struct pg		*pg_events;	/* LISTEN, the event reader */
	struct pg		*pg_marks;	/* delivered marks */

	struct session_index	 sessions;	/* by account */
	struct idmap		 refused;	/* inactive or deleted accounts */
	int			 refused_loaded;
	uint64_t		 next_session_id;
	int			 draining;	/* SIGTERM received */
};

int	hub_init(struct hub *hub, const struct config *cfg, const char *node);
void	hub_free(struct hub *hub);

/* The first session of account_id (then follow next_of_account), or NULL. */
struct session *hub_sessions(struct hub *hub, const char *account_id);
int	hub_account_online(struct hub *hub, const char *account_id);
/* Whether the account of ref has a session here besides the one ref names. */
int	hub_account_online_besides(struct hub *hub,
	    const struct session_ref *ref);
/* The session ref names, if it is still open. */
struct session *hub_find(struct hub *hub, const struct session_ref *ref);

/* Queues msg to every session of account_id but skip (may be NULL). */
void	hub_send(struct hub *hub, const char *account_id, struct outmsg *msg,
	    const struct session *skip);

/* Closes every session with code (SIGTERM: 1001). */
void	hub_close_all(struct hub *hub, int code);
/* Closes every session of account_id with code; returns how many were
 * open (not closing already). */
size_t	hub_close_account(struct hub *hub, const char *account_id, int code);

/* Calls fn for every session. */
void	hub_each(struct hub *hub, void (*fn)(struct session *, void *),
	    void *arg);

#endif
