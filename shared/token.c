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

/*
 * Reads the integer claim name into *value. Returns 0, 1 when the token
 * has no such claim, or -1 when it is anything but a plain run of digits
 * that fits a long (libjwt would answer 0 for a string, a fraction or null).
 */
static int
token_time_claim(jwt_t *jwt, const char *name, long *value)
{
	char *json = jwt_get_grants_json(jwt, name);
	int rc = -1;

	if (json == NULL)
		return 1;
	if (json[0] != '\0' && json[strspn(json, "0123456789")] == '\0') {
		errno = 0;
		*value = jwt_get_grant_int(jwt, name);
		if (errno == 0)
			rc = 0;
	}
	free(json);
	return rc;
}

int
token_verify(const unsigned char *key, size_t keylen, const char *token,
    enum token_type type, long now, char sub[UUID_TEXT_SIZE], long *exp)
{
	jwt_t *jwt = NULL;
	const char *claim;
	char *crit;
	long expires, not_before;
	int rc = -1;

	if (key == NULL || keylen == 0 || keylen > 4096 || token == NULL ||
	    strlen(token) > TOKEN_MAX_LEN)
		return -1;
	if (jwt_decode(&jwt, token, key, (int)keylen) != 0 || jwt == NULL)
		return -1;
	/* libjwt accepted whatever algorithm the header named. */
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;
	/* RFC 7515 4.1.11: crit names extensions that must be understood;
	 * this service understands none, so any crit refuses the token. */
	if ((crit = jwt_get_headers_json(jwt, "crit")) != NULL) {
		free(crit);
		goto done;
	}

	claim = jwt_get_grant(jwt, "type");
	if (claim == NULL || strcmp(claim, token_type_names[type]) != 0)
		goto done;

	if (token_time_claim(jwt, "exp", &expires) != 0 || expires <= now)
		goto done;
	/* nbf is optional (this service never writes one); when present it
	 * must have come. */
	switch (token_time_claim(jwt, "nbf", &not_before)) {
	case 0:
		if (not_before > now)
			goto done;
		break;
	case 1:
		break;
	default:
		goto done;
	}

	claim = jwt_get_grant(jwt, "sub");
	if (claim == NULL || uuid_normalize(claim, sub) == -1)
		goto done;
	if (exp != NULL)
		*exp = expires;
	rc = 0;
done:
	jwt_free(jwt);
	return rc;
}

int
token_verify_either(const unsigned char *key, size_t keylen,
    const unsigned char *previous, size_t previous_len, const char *token,
    enum token_type type, long now, char sub[UUID_TEXT_SIZE], long *exp)
{
	if (token_verify(key, keylen, token, type, now, sub, exp) == 0)
		return 0;
	if (previous_len == 0)
		return -1;
	return token_verify(previous, previous_len, token, type, now, sub,
	    exp);
}
