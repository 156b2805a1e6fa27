/*
 * Access tokens verified recently by this process, so that a client's next
 * requests skip libjwt's decoding and signature check (7 % of chat-fcgi's
 * time on history pages; docs/PERFORMANCE.md).
 *
 * A hit is the very same token, compared in constant time, before its
 * expiry: exactly what token_verify() would accept, since the token type
 * does not change and the table is cleared when the keys do (chatctl
 * secret rotate). Routes still check the account in the database. The
 * table is fixed: TOKEN_CACHE_SLOTS slots, one token each (a token hashes
 * to one slot and replaces what was there); longer tokens than
 * TOKEN_CACHE_TOKEN_MAX are not kept. One table a process, for one
 * request at a time: not for threads.
 */
#ifndef CHAT_TOKEN_CACHE_H
#define CHAT_TOKEN_CACHE_H

#include "uuid.h"

#define TOKEN_CACHE_SLOTS	4096
#define TOKEN_CACHE_TOKEN_MAX	384

/* Whether token was verified before and expires after now: 0 and its
 * account id in sub, or -1. */
int	token_cache_find(const char *token, long now, char sub[UUID_TEXT_SIZE]);

/* Remembers token, verified, with its expiry time and account id. */
void	token_cache_put(const char *token, long exp, const char *sub);

/* Forgets every token: the secrets changed (a token signed with one no
 * longer accepted must not pass). */
void	token_cache_clear(void);

#endif
