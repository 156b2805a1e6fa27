/* Unit tests of fcgi-app/token_cache.c. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "token_cache.h"

#define ID_A	"0b7e4c2a-5f1d-4e8a-9c3b-2d6f8a1e4b7c"
#define ID_B	"9f3a1b5c-7d2e-4f60-8a9b-c1d2e3f4a5b6"
#define EXP	1700001800L

static void
test_hit_until_expiry(void)
{
	char sub[UUID_TEXT_SIZE];

	CHECK(token_cache_find("aaa.bbb.ccc", EXP - 10, sub) == -1);
	token_cache_put("aaa.bbb.ccc", EXP, ID_A);
	memset(sub, 'x', sizeof(sub));
	CHECK(token_cache_find("aaa.bbb.ccc", EXP - 10, sub) == 0);
	CHECK(strcmp(sub, ID_A) == 0);
	CHECK(token_cache_find("aaa.bbb.ccc", EXP - 1, sub) == 0);
	CHECK(token_cache_find("aaa.bbb.ccc", EXP, sub) == -1);
	CHECK(token_cache_find("aaa.bbb.ccc", EXP + 1, sub) == -1);
}

/* Only the very same token hits: not one that differs in a byte, nor one
 * that begins like it, nor one of its length that lands in its slot. */
static void
test_exact_match_only(void)
{
	char sub[UUID_TEXT_SIZE], token[32];
	int i, hits = 0;

	token_cache_put("hdr.payload.sig1", EXP, ID_A);
	CHECK(token_cache_find("hdr.payload.sig2", EXP - 10, sub) == -1);
	CHECK(token_cache_find("hdr.payload.sig", EXP - 10, sub) == -1);
	CHECK(token_cache_find("hdr.payload.sig12", EXP - 10, sub) == -1);
	CHECK(token_cache_find("", EXP - 10, sub) == -1);
	CHECK(token_cache_find("hdr.payload.sig1", EXP - 10, sub) == 0);

	/* 8 tokens a slot on average: some share the slot of sig1. */
	for (i = 0; i < 8 * TOKEN_CACHE_SLOTS; i++) {
		snprintf(token, sizeof(token), "hdr.payload.%04x", i);
		hits += token_cache_find(token, EXP - 10, sub) == 0;
	}
	CHECK(hits == 0);
}

static void
test_long_tokens_not_kept(void)
{
	char token[TOKEN_CACHE_TOKEN_MAX + 2], sub[UUID_TEXT_SIZE];

	memset(token, 'k', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	token_cache_put(token, EXP, ID_A);
	CHECK(token_cache_find(token, EXP - 10, sub) == -1);
	token[TOKEN_CACHE_TOKEN_MAX] = '\0';
	token_cache_put(token, EXP, ID_A);
	CHECK(token_cache_find(token, EXP - 10, sub) == 0);
}

/* A token that lands in a taken slot replaces the one there: the table
 * stays TOKEN_CACHE_SLOTS entries, whatever the number of tokens. */
static void
test_slot_replaced(void)
{
	char token[32], sub[UUID_TEXT_SIZE];
	int i, evicted = -1;

	token_cache_put("first.token.kept", EXP, ID_A);
	for (i = 0; i < 20 * TOKEN_CACHE_SLOTS && evicted == -1; i++) {
		snprintf(token, sizeof(token), "other.token.%d", i);
		token_cache_put(token, EXP, ID_B);
		if (token_cache_find("first.token.kept", EXP - 10, sub) == -1)
			evicted = i;
	}
	CHECK(evicted != -1);
	CHECK(token_cache_find(token, EXP - 10, sub) == 0);
	CHECK(strcmp(sub, ID_B) == 0);
}

int
main(void)
{
	test_hit_until_expiry();
	test_exact_match_only();
	test_long_tokens_not_kept();
	test_slot_replaced();
	return check_done("test_token_cache");
}
