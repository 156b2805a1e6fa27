/*
 * Group conversations over REST (CONTRACT §11), under /group-chat. The
 * rules are the api_group* functions of sql/functions/groups.sql; the
 * handlers check the input and call them.
 */
#ifndef CHAT_GROUPS_H
#define CHAT_GROUPS_H

#include "reply.h"
#include "request.h"

void	groups_create(struct request *rq, struct reply *rp);
void	groups_mine(struct request *rq, struct reply *rp);
void	groups_all(struct request *rq, struct reply *rp);
void	groups_unread_count(struct request *rq, struct reply *rp);
void	groups_membership_batch(struct request *rq, struct reply *rp);
void	groups_get(struct request *rq, struct reply *rp);
void	groups_update(struct request *rq, struct reply *rp);
void	groups_delete(struct request *rq, struct reply *rp);
void	groups_members(struct request *rq, struct reply *rp);
void	groups_add_member(struct request *rq, struct reply *rp);
void	groups_remove_member(struct request *rq, struct reply *rp);
void	groups_ban(struct request *rq, struct reply *rp);
void	groups_leave(struct request *rq, struct reply *rp);
void	groups_join(struct request *rq, struct reply *rp);
void	groups_membership(struct request *rq, struct reply *rp);
void	groups_messages(struct request *rq, struct reply *rp);
void	groups_send(struct request *rq, struct reply *rp);
void	groups_search(struct request *rq, struct reply *rp);
void	groups_delete_message(struct request *rq, struct reply *rp);
void	groups_read(struct request *rq, struct reply *rp);
void	groups_online(struct request *rq, struct reply *rp);

#endif
