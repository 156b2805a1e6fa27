/*
 * Group conversations in the push daemon (CONTRACT §11, docs/events.md
 * "Group events"): the daemon's copy of every active group and its
 * active members, so that the handshake of the per-group URL is answered
 * from memory and a group event, read once, goes to the connections here
 * of the group's members; the connections of the per-group URL by group;
 * their online_members frames; the group typing relay.
 *
 * The copy is loaded once, right after the event reader found its first
 * horizon, on the reader's connection (its snapshot is later than that
 * horizon: no change falls between the two), and then follows the
 * events in the order the reader reads them: each change of membership
 * brings the members it leaves, as of its event (push_group_frames), and
 * one older than the last applied is passed over. A load that fails
 * while the connection stays is tried again (after 1 s, then up to 30 s
 * apart); the reads go on meanwhile, and the load, whose snapshot is
 * later still, sees what they applied.
 */
#ifndef CHAT_GROUPS_H
#define CHAT_GROUPS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "uuid.h"

struct hub;
struct session;

/* An account id, as the members of a group are kept. */
typedef char groups_id[UUID_TEXT_SIZE];

/* The close codes of a per-group connection whose member stops being
 * active (the original's client shows them). */
#define GROUPS_CLOSE_GONE	4003	/* left, removed, group deleted */
#define GROUPS_CLOSE_BANNED	4004

int	groups_init(void);
/* Cancels its timer: before the lws context goes, as every timer. */
void	groups_stop(void);
void	groups_free(void);

/* Loads the copy on the event reader's connection unless it is loaded
 * or loading (called when the reader found its first horizon, and when
 * its connection is back). */
void	groups_load(struct hub *hub);
/* Whether the copy is loaded: handshakes of the per-group URL wait. */
int	groups_loaded(void);

/*
 * The handshake of the per-group URL: 0 when account_id is an active
 * member of group_id, a group not deleted, with its name in name (at
 * most size bytes, unless name is NULL); -1 otherwise.
 */
int	groups_admits(const char *group_id, const char *account_id,
	    char *name, size_t size);

/* The active members of group_id, sorted (*n of them), or NULL when the
 * group is unknown here. */
const groups_id *groups_members(const char *group_id, size_t *n);
/* Whether account_id is an active member of group_id. */
int	groups_has_member(const char *group_id, const char *account_id);
/* Whether a session here is of an active member of group_id (a group
 * event read here is worth fetching). */
int	groups_has_local_member(struct hub *hub, const char *group_id);

/*
 * A change of group_id at event id version: its members now members (a
 * uuid[] literal; NULL leaves them), its name and whether it is active.
 * A change older than the last applied is passed over. The per-group
 * connections of the group get a fresh online_members soon.
 */
void	groups_apply(const char *group_id, uint64_t version,
	    const char *members, const char *name, int active);

/* A connection of the per-group URL opens (REGISTERING) or closes. */
void	groups_attach(struct session *s);
void	groups_detach(struct session *s);
/* Its presence row is written: online_members follows. */
void	groups_registered(struct hub *hub, struct session *s);
/* The per-group connections of group_id here (next_in_group). */
struct session *groups_sockets(const char *group_id);
/*
 * account_id stops being an active member of group_id (status: its
 * status now), or the group is deleted (account_id NULL): their
 * per-group connections get status_changed and close, 4004 for a ban,
 * else 4003.
 */
void	groups_status_changed(const char *group_id, const char *account_id,
	    const char *status, int active);

/* Once a second: the online_members of the groups with per-group
 * connections here, sent to those whose list changed. */
void	groups_tick(struct hub *hub);

/* A notification on chat_group_typing: "group-id sender-id t|f". */
void	groups_typing(struct hub *hub, const char *payload);

#endif
