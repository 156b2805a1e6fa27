/*
 * Access and refresh tokens: JWTs signed with HS256. libjwt 1.10 verifies
 * with whatever algorithm a token names and checks no claim, so token.c pins
 * the algorithm, refuses any crit header and checks exp, nbf, type and sub
 * itself.
 */
#ifndef CHAT_TOKEN_H
#define CHAT_TOKEN_H

#include <stddef.h>

#include "uuid.h"

/* Longer tokens are refused unread. */
#define TOKEN_MAX_LEN	4096

enum token_type {
	TOKEN_ACCESS,
	TOKEN_REFRESH,
};

/*
 * Returns a malloc'd token for account_id, valid from now for ttl seconds,
 * or NULL on failure (including an empty key).
 */
char	*token_sign(const unsigned char *key, size_t keylen,
	    const char *account_id, enum token_type type, long now, long ttl);

/*
 * Verifies token as one of the given type at time now. Returns 0, the
 * account id (lowercase) in sub and, unless exp is NULL, the token's
 * expiry time in *exp; or -1 for any problem.
 */
int	 token_verify(const unsigned char *key, size_t keylen,
	    const char *token, enum token_type type, long now,
	    char sub[UUID_TEXT_SIZE], long *exp);

/*
 * token_verify() with key, and failing that with previous unless
 * previous_len is 0: the secret before the current one (chatctl secret
 * rotate), so that the tokens it signed stay good until they expire.
 */
int	 token_verify_either(const unsigned char *key, size_t keylen,
	    const unsigned char *previous, size_t previous_len,
	    const char *token, enum token_type type, long now,
	    char sub[UUID_TEXT_SIZE], long *exp);

#endif
