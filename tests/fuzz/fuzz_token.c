/*
 * token_verify(): the access token of every authenticated request and of
 * the WebSocket handshake, and the refresh token, verified with a fixed
 * test secret at a fixed time. The seeds (corpus/token) are tokens signed
 * with that secret, so that mutations reach the claims' checks.
 */
#include "fuzz.h"
#include "token.h"

/* The secret and the time of tests/fuzz/corpus/token. */
#define FUZZ_SECRET	"fuzz-secret-0123456789abcdef0123456789"
#define FUZZ_NOW	1700000000L

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_text(data, size), sub[UUID_TEXT_SIZE];
	const unsigned char *key = (const unsigned char *)FUZZ_SECRET;
	size_t keylen = sizeof(FUZZ_SECRET) - 1;
	long exp;

	for (int type = TOKEN_ACCESS; type <= TOKEN_REFRESH; type++) {
		if (token_verify(key, keylen, text, type, FUZZ_NOW, sub,
		    &exp) == 0) {
			FUZZ_CHECK(strlen(sub) == UUID_TEXT_SIZE - 1);
			FUZZ_CHECK(exp > FUZZ_NOW);
		}
	}
	free(text);
	return 0;
}
