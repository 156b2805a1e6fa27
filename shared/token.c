#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "token.h"

static const char *const token_type_names[] = {
	[TOKEN_ACCESS] = "access",
	[TOKEN_REFRESH] = "refresh",
};

char *
token_sign(const unsigned char *key, size_t keylen, const char *account_id,
    enum token_type type, long now, long ttl)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	/* An empty key would make libjwt sign with "none". */
	if (key == NULL || keylen == 0 || keylen > 4096)
		return NULL;
	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grant(jwt, "sub", account_id) != 0 ||
	    jwt_add_grant(jwt, "user_id", account_id) != 0 ||
	    jwt_add_grant(jwt, "type", token_type_names[type]) != 0 ||
	    jwt_add_grant_int(jwt, "iat", now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", now + ttl) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)keylen) != 0)
		goto done;
	out = jwt_encode_str(jwt);
done:
	jwt_free(jwt);
	return out;
}

int
token_verify(const unsigned char *key, size_t keylen, const char *token,
    enum token_type type, long now, char sub[UUID_TEXT_SIZE], long *exp)
{
	jwt_t *jwt = NULL;
	const char *claim;
	char *exp_json = NULL;
	long expires;
	int rc = -1;

	if (key == NULL || keylen == 0 || keylen > 4096 || token == NULL ||
	    strlen(token) > TOKEN_MAX_LEN)
		return -1;
	if (jwt_decode(&jwt, token, key, (int)keylen) != 0 || jwt == NULL)
		return -1;
	/* libjwt accepted whatever algorithm the header named. */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;

	claim = jwt_get_grant(jwt, "type");
	if (claim == NULL || strcmp(claim, token_type_names[type]) != 0)
		goto done;

	/* libjwt answers 0 for an exp that is not an integer: refuse any
	 * exp that is not a plain run of digits. */
	exp_json = jwt_get_grants_json(jwt, "exp");
	if (exp_json == NULL || exp_json[0] == '\0' ||
	    exp_json[strspn(exp_json, "0123456789")] != '\0')
		goto done;
	errno = 0;
	expires = jwt_get_grant_int(jwt, "exp");
	if (errno != 0 || expires <= now)
		goto done;

	claim = jwt_get_grant(jwt, "sub");
	if (claim == NULL || uuid_normalize(claim, sub) == -1)
		goto done;
	if (exp != NULL)
		*exp = expires;
	rc = 0;
done:
	free(exp_json);
	jwt_free(jwt);
	return rc;
}
