/* Unit tests of shared/token.c: token_sign and token_verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <jwt.h>

#include "check.h"
#include "token.h"

static const unsigned char key[] = "0123456789abcdef0123456789ABCDEF-test-key";
#define KEYLEN		(sizeof(key) - 1)
static const unsigned char other_key[] =
    "0123456789abcdef0123456789ABCDEF-test-kez";

#define UPPER_ID	"0F8FAD5B-D9CB-469F-A165-70867728950E"
#define LOWER_ID	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define NOW		1700000000L
#define TTL		1800L

/* ---- base64url, without padding ---- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *
b64url_encode(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out = malloc(len / 3 * 4 + 5), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		*o++ = b64url[s[i] >> 2];
		*o++ = b64url[(s[i] & 3) << 4 | s[i + 1] >> 4];
		*o++ = b64url[(s[i + 1] & 15) << 2 | s[i + 2] >> 6];
		*o++ = b64url[s[i + 2] & 63];
	}
	if (len - i == 1) {
		*o++ = b64url[s[i] >> 2];
		*o++ = b64url[(s[i] & 3) << 4];
	} else if (len - i == 2) {
		*o++ = b64url[s[i] >> 2];
		*o++ = b64url[(s[i] & 3) << 4 | s[i + 1] >> 4];
		*o++ = b64url[(s[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

/* Decodes s[0..len) into a new NUL-terminated string, or NULL if bad. */
static char *
b64url_decode(const char *s, size_t len)
{
	char *out = malloc(len / 4 * 3 + 3);
	unsigned long acc = 0;
	size_t n = 0;
	int bits = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		const char *p = s[i] != '\0' ? strchr(b64url, s[i]) : NULL;

		if (p == NULL) {
			free(out);
			return NULL;
		}
		acc = acc << 6 | (unsigned long)(p - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)(acc >> bits & 0xff);
		}
	}
	out[n] = '\0';
	return out;
}

/* The JSON of part (0 header, 1 payload) of token, parsed; NULL if bad. */
static struct json_object *
token_part(const char *token, int part)
{
	const char *start = token, *end;
	struct json_object *obj;
	char *json;

	for (int i = 0; i < part; i++) {
		start = strchr(start, '.');
		if (start == NULL)
			return NULL;
		start++;
	}
	end = strchr(start, '.');
	if (end == NULL)
		return NULL;
	json = b64url_decode(start, (size_t)(end - start));
	if (json == NULL)
		return NULL;
	obj = json_tokener_parse(json);
	free(json);
	return obj;
}

/* ---- tokens built by hand or with libjwt ---- */

/* A token with the given claims (JSON object text), signed by libjwt. */
static char *
libjwt_token(const char *claims, jwt_alg_t alg, const unsigned char *k,
    size_t klen)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, claims) == 0 &&
	    jwt_set_alg(jwt, alg, k, (int)klen) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

/* A token with the given claims and extra header members, signed by libjwt. */
static char *
libjwt_token_with_header(const char *header, const char *claims)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_headers_json(jwt, header) == 0 &&
	    jwt_add_grants_json(jwt, claims) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256, key, KEYLEN) == 0)
		out = jwt_encode_str(jwt);
	jwt_free(jwt);
	return out;
}

/* header "." payload "." signature, each part base64url of the text. */
static char *
raw_token(const char *header, const char *payload, const char *sig)
{
	char *h = b64url_encode(header, strlen(header));
	char *p = b64url_encode(payload, strlen(payload));
	char *out = NULL;
	size_t size;

	if (h != NULL && p != NULL) {
		size = strlen(h) + strlen(p) + (sig ? strlen(sig) : 0) + 3;
		out = malloc(size);
		if (out != NULL)
			snprintf(out, size, "%s.%s%s%s", h, p,
			    sig != NULL ? "." : "", sig != NULL ? sig : "");
	}
	free(h);
	free(p);
	return out;
}

/* The claims of a good access token at NOW (built by the tests). */
#define GOOD_CLAIMS \
	"{\"sub\":\"" UPPER_ID "\",\"user_id\":\"" UPPER_ID "\"," \
	"\"type\":\"access\",\"iat\":1700000000,\"exp\":1700001800}"

/* token_verify as an access token at now; frees token. */
static int
verify_access_at(char *token, long now)
{
	char sub[UUID_TEXT_SIZE];
	int rc;

	if (token == NULL)
		return -2;
	rc = token_verify(key, KEYLEN, token, TOKEN_ACCESS, now, sub, NULL);
	free(token);
	return rc;
}

static int
verify_access(char *token)
{
	return verify_access_at(token, NOW);
}

/* ---- the tests ---- */

static void
test_round_trip(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;
	long exp = 0;

	t = token_sign(key, KEYLEN, UPPER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	memset(sub, 'x', sizeof(sub));
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, &exp) == 0);
	CHECK(strcmp(sub, LOWER_ID) == 0);
	CHECK(exp == NOW + TTL);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW + TTL - 1,
	    sub, NULL) == 0);
	free(t);

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_REFRESH, NOW, 7 * 86400);
	CHECK(t != NULL);
	memset(sub, 'x', sizeof(sub));
	CHECK(token_verify(key, KEYLEN, t, TOKEN_REFRESH, NOW + 86400,
	    sub, NULL) == 0);
	CHECK(strcmp(sub, LOWER_ID) == 0);
	free(t);
}

static void
test_wrong_type(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_REFRESH, NOW,
	    sub, NULL) == -1);
	free(t);

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_REFRESH, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	free(t);
}

static void
test_expiry(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW + TTL - 1,
	    sub, NULL) == 0);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW + TTL,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW + TTL + 1,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW + 365L * 86400,
	    sub, NULL) == -1);
	free(t);

	/* A token born expired. */
	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, 0);
	CHECK(t != NULL);
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	free(t);
}

static void
test_other_key(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify(other_key, KEYLEN, t, TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	/* A prefix of the right key is another key. */
	CHECK(token_verify(key, KEYLEN - 1, t, TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	free(t);
}

/* The current key, then the previous one (a rotated secret). */
static void
test_either_key(void)
{
	static const unsigned char third[] =
	    "0123456789abcdef0123456789ABCDEF-third-key";
	char sub[UUID_TEXT_SIZE];
	char *t;
	long exp = 0;

	t = token_sign(other_key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify_either(key, KEYLEN, other_key, KEYLEN, t,
	    TOKEN_ACCESS, NOW, sub, &exp) == 0);
	CHECK(strcmp(sub, LOWER_ID) == 0 && exp == NOW + TTL);
	CHECK(token_verify_either(other_key, KEYLEN, key, KEYLEN, t,
	    TOKEN_ACCESS, NOW, sub, NULL) == 0);
	/* Without a previous key, or with another one, it is refused. */
	CHECK(token_verify_either(key, KEYLEN, NULL, 0, t, TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	CHECK(token_verify_either(key, KEYLEN, third, sizeof(third) - 1, t,
	    TOKEN_ACCESS, NOW, sub, NULL) == -1);
	/* Expiry and type hold with the previous key as with the current. */
	CHECK(token_verify_either(key, KEYLEN, other_key, KEYLEN, t,
	    TOKEN_ACCESS, NOW + TTL, sub, NULL) == -1);
	CHECK(token_verify_either(key, KEYLEN, other_key, KEYLEN, t,
	    TOKEN_REFRESH, NOW, sub, NULL) == -1);
	free(t);
}

static void
test_empty_key(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	CHECK(token_sign(key, 0, LOWER_ID, TOKEN_ACCESS, NOW, TTL) == NULL);
	CHECK(token_sign(NULL, 0, LOWER_ID, TOKEN_ACCESS, NOW, TTL) == NULL);
	CHECK(token_sign(NULL, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL) ==
	    NULL);

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	CHECK(token_verify(key, 0, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	CHECK(token_verify(NULL, 0, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	free(t);
}

static void
test_tampered(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t, *forged, *dot1, *dot2, *fake, *mixed;
	size_t size;

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	dot1 = strchr(t, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	CHECK(dot2 != NULL);
	if (dot2 == NULL) {
		free(t);
		return;
	}

	/* Another payload (a later exp, another account) with t's signature. */
	forged = raw_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"sub\":\"11111111-2222-3333-4444-555555555555\","
	    "\"user_id\":\"11111111-2222-3333-4444-555555555555\","
	    "\"type\":\"access\",\"iat\":1700000000,\"exp\":1900000000}",
	    dot2 + 1);
	CHECK(verify_access(forged) == -1);

	/* t's header and signature around a forged payload. */
	fake = b64url_encode("{\"sub\":\"" LOWER_ID "\",\"type\":\"access\","
	    "\"exp\":1900000000}", strlen("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":1900000000}"));
	CHECK(fake != NULL);
	if (fake != NULL) {
		size = strlen(t) + strlen(fake) + 1;
		mixed = malloc(size);
		if (mixed != NULL)
			snprintf(mixed, size, "%.*s.%s%s", (int)(dot1 - t), t,
			    fake, dot2);
		CHECK(verify_access(mixed) == -1);
	}
	free(fake);

	/* One character of the signature changed. */
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	/* The signature cut off. */
	dot2[1] = '\0';
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	dot2[0] = '\0';
	CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW, sub, NULL) == -1);
	free(t);
}

/* The builders themselves make acceptable tokens from good claims. */
static void
test_libjwt_control(void)
{
	CHECK(verify_access(libjwt_token(GOOD_CLAIMS, JWT_ALG_HS256, key,
	    KEYLEN)) == 0);
}

static void
test_other_algorithms(void)
{
	CHECK(verify_access(libjwt_token(GOOD_CLAIMS, JWT_ALG_HS512, key,
	    KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(GOOD_CLAIMS, JWT_ALG_HS384, key,
	    KEYLEN)) == -1);
}

static void
test_alg_none(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	/* With the final dot and an empty signature ... */
	t = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_CLAIMS, "");
	CHECK(t != NULL && t[strlen(t) - 1] == '.');
	CHECK(verify_access(t) == -1);
	/* ... without it ... */
	t = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_CLAIMS, NULL);
	CHECK(t != NULL && strchr(t, '.') != NULL &&
	    strchr(strchr(t, '.') + 1, '.') == NULL);
	CHECK(verify_access(t) == -1);
	/* ... with case games, or no alg at all. */
	CHECK(verify_access(raw_token("{\"alg\":\"None\",\"typ\":\"JWT\"}",
	    GOOD_CLAIMS, "")) == -1);
	CHECK(verify_access(raw_token("{\"typ\":\"JWT\"}", GOOD_CLAIMS,
	    "")) == -1);

	/* An empty key must not turn "none" tokens acceptable. */
	t = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", GOOD_CLAIMS, "");
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK(token_verify((const unsigned char *)"", 0, t,
		    TOKEN_ACCESS, NOW, sub, NULL) == -1);
		CHECK(token_verify(NULL, 0, t, TOKEN_ACCESS, NOW,
		    sub, NULL) == -1);
	}
	free(t);
}

static void
test_bad_claims(void)
{
#define HDR	"\"user_id\":\"" LOWER_ID "\",\"iat\":1700000000"
	/* sub: not a UUID, missing, not a string. */
	CHECK(verify_access(libjwt_token("{\"sub\":\"not-a-uuid\","
	    "\"type\":\"access\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"{" LOWER_ID "}\","
	    "\"type\":\"access\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"\","
	    "\"type\":\"access\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{"
	    "\"type\":\"access\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":42,"
	    "\"type\":\"access\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	/* exp: missing, a string, a fraction, null, boolean. */
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\"," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":\"1900000000\"," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":1900000000.5," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":null," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":true," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	/*
	 * libjwt reads a missing exp as -1 (and sets errno): at a clock
	 * before -1 it is still refused; an exp that is not a plain run of
	 * digits (here -1) is refused whatever the clock.
	 */
	CHECK(verify_access_at(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\"," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN), -100) == -1);
	CHECK(verify_access_at(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"access\",\"exp\":-1," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN), -100) == -1);
	/* type: missing, another value, another case. */
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"admin\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token("{\"sub\":\"" LOWER_ID "\","
	    "\"type\":\"ACCESS\",\"exp\":1700001800," HDR "}",
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
#undef HDR
}

/* GOOD_CLAIMS with an nbf claim of the given JSON text. */
#define NBF_CLAIMS(nbf) \
	"{\"sub\":\"" LOWER_ID "\",\"user_id\":\"" LOWER_ID "\"," \
	"\"type\":\"access\",\"iat\":1700000000,\"exp\":1700001800," \
	"\"nbf\":" nbf "}"

/* RFC 7519 4.1.5: not before nbf. */
static void
test_not_before(void)
{
	/* Due now or in the past: accepted. */
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("1700000000"),
	    JWT_ALG_HS256, key, KEYLEN)) == 0);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("1699999000"),
	    JWT_ALG_HS256, key, KEYLEN)) == 0);
	/* In the future, by a second or by a year: refused. */
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("1700000001"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("1731536000"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	/* The same token once its time has come. */
	CHECK(verify_access_at(libjwt_token(NBF_CLAIMS("1700000100"),
	    JWT_ALG_HS256, key, KEYLEN), NOW + 100) == 0);
	/* Not a plain integer: a string, a fraction, negative, null, true. */
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("\"1600000000\""),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("1600000000.5"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("-1"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("null"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("true"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
	/* The largest time a long holds. */
	CHECK(verify_access(libjwt_token(NBF_CLAIMS("9223372036854775807"),
	    JWT_ALG_HS256, key, KEYLEN)) == -1);
}

/*
 * RFC 7515 4.1.11: a "crit" header names extensions the verifier must
 * understand; this service understands none, so any crit is refused.
 */
static void
test_crit_header(void)
{
	/* The control: an unknown header member that is not crit. */
	CHECK(verify_access(libjwt_token_with_header("{\"kid\":\"k1\"}",
	    GOOD_CLAIMS)) == 0);
	CHECK(verify_access(libjwt_token_with_header(
	    "{\"crit\":[\"exp\"]}", GOOD_CLAIMS)) == -1);
	CHECK(verify_access(libjwt_token_with_header(
	    "{\"crit\":[\"b64\"],\"b64\":false}", GOOD_CLAIMS)) == -1);
	CHECK(verify_access(libjwt_token_with_header("{\"crit\":[]}",
	    GOOD_CLAIMS)) == -1);
	CHECK(verify_access(libjwt_token_with_header("{\"crit\":\"exp\"}",
	    GOOD_CLAIMS)) == -1);
	CHECK(verify_access(libjwt_token_with_header("{\"crit\":null}",
	    GOOD_CLAIMS)) == -1);
	/* A refresh token with crit is refused as a refresh token too. */
	{
		char sub[UUID_TEXT_SIZE];
		char *t = libjwt_token_with_header("{\"crit\":[\"exp\"]}",
		    "{\"sub\":\"" LOWER_ID "\",\"type\":\"refresh\","
		    "\"exp\":1700001800}");

		CHECK(t != NULL);
		if (t != NULL)
			CHECK(token_verify(key, KEYLEN, t, TOKEN_REFRESH, NOW,
			    sub, NULL) == -1);
		free(t);
	}
}

/* A token of n bytes or a little more: GOOD_CLAIMS and a padding claim. */
static char *
padded_token(size_t n)
{
	size_t pad = n > 300 ? (n - 300) * 3 / 4 : 0;
	char *claims = malloc(pad + 200), *t;

	if (claims == NULL)
		return NULL;
	/* Grow the padding until the token reaches n bytes. */
	for (;;) {
		snprintf(claims, pad + 200, "{\"sub\":\"" LOWER_ID "\","
		    "\"type\":\"access\",\"exp\":1700001800,\"pad\":\"%*s\"}",
		    (int)pad, "");
		t = libjwt_token(claims, JWT_ALG_HS256, key, KEYLEN);
		if (t == NULL || strlen(t) >= n)
			break;
		free(t);
		free(claims);
		pad++;
		claims = malloc(pad + 200);
		if (claims == NULL)
			return NULL;
	}
	free(claims);
	return t;
}

static void
test_max_length(void)
{
	char sub[UUID_TEXT_SIZE];
	char *t;

	/* The longest token up to TOKEN_MAX_LEN is read ... */
	for (size_t n = TOKEN_MAX_LEN; n > TOKEN_MAX_LEN - 8; n--) {
		t = padded_token(n);
		CHECK(t != NULL);
		if (t == NULL)
			return;
		if (strlen(t) <= TOKEN_MAX_LEN) {
			CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW,
			    sub, NULL) == 0);
			free(t);
			break;
		}
		free(t);
	}
	/* ... a longer one is refused though it is well signed. */
	t = padded_token(TOKEN_MAX_LEN + 1);
	CHECK(t != NULL && strlen(t) > TOKEN_MAX_LEN);
	if (t != NULL)
		CHECK(token_verify(key, KEYLEN, t, TOKEN_ACCESS, NOW,
		    sub, NULL) == -1);
	free(t);
}

static void
test_null_and_junk(void)
{
	char sub[UUID_TEXT_SIZE];

	CHECK(token_verify(key, KEYLEN, NULL, TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, "", TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, "..", TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, "a.b.c", TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
	CHECK(token_verify(key, KEYLEN, "not a token", TOKEN_ACCESS, NOW,
	    sub, NULL) == -1);
}

static void
test_claims_in_payload(void)
{
	struct json_object *payload, *header, *v;
	char *t;

	t = token_sign(key, KEYLEN, UPPER_ID, TOKEN_REFRESH, NOW, TTL);
	CHECK(t != NULL);
	if (t == NULL)
		return;
	header = token_part(t, 0);
	payload = token_part(t, 1);
	CHECK(header != NULL && payload != NULL);

	CHECK(json_object_object_get_ex(header, "alg", &v) &&
	    strcmp(json_object_get_string(v), "HS256") == 0);
	CHECK(json_object_object_get_ex(header, "typ", &v) &&
	    strcmp(json_object_get_string(v), "JWT") == 0);

	CHECK(json_object_object_get_ex(payload, "sub", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), UPPER_ID) == 0);
	CHECK(json_object_object_get_ex(payload, "user_id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), UPPER_ID) == 0);
	CHECK(json_object_object_get_ex(payload, "type", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "refresh") == 0);
	CHECK(json_object_object_get_ex(payload, "iat", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == NOW);
	CHECK(json_object_object_get_ex(payload, "exp", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) == NOW + TTL);
	CHECK(json_object_object_length(payload) == 5);
	/* The key never appears in the token. */
	CHECK(strstr(t, (const char *)key) == NULL);

	json_object_put(header);
	json_object_put(payload);
	free(t);

	t = token_sign(key, KEYLEN, LOWER_ID, TOKEN_ACCESS, NOW, TTL);
	payload = t != NULL ? token_part(t, 1) : NULL;
	CHECK(payload != NULL);
	CHECK(json_object_object_get_ex(payload, "type", &v) &&
	    strcmp(json_object_get_string(v), "access") == 0);
	json_object_put(payload);
	free(t);
}

int
main(void)
{
	test_round_trip();
	test_wrong_type();
	test_expiry();
	test_other_key();
	test_either_key();
	test_empty_key();
	test_tampered();
	test_libjwt_control();
	test_other_algorithms();
	test_alg_none();
	test_bad_claims();
	test_not_before();
	test_crit_header();
	test_max_length();
	test_null_and_junk();
	test_claims_in_payload();
	return check_done("token");
}
