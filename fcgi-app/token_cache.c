#include <stdint.h>
#include <string.h>

#include "token_cache.h"

struct token_cache_slot {
	size_t	 len;		/* 0: empty */
	long	 exp;
	char	 sub[UUID_TEXT_SIZE];
	char	 token[TOKEN_CACHE_TOKEN_MAX];
};

/* 1.7 MB of address space; a slot's page is touched when first used. */
static struct token_cache_slot token_cache_slots[TOKEN_CACHE_SLOTS];

/* FNV-1a. Anyone can make tokens collide; that only costs a verification. */
static struct token_cache_slot *
token_cache_slot(const char *token, size_t len)
{
	uint64_t h = 14695981039346656037u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)token[i]) * 1099511628211u;
	return &token_cache_slots[h % TOKEN_CACHE_SLOTS];
}

/* Whether a and b, len bytes each, are equal, in time that does not depend
 * on where they differ: a guessed token learns nothing of a cached one. */
static int
token_cache_same(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

int
token_cache_find(const char *token, long now, char sub[UUID_TEXT_SIZE])
{
	size_t len = strlen(token);
	struct token_cache_slot *slot;

	if (len == 0 || len > TOKEN_CACHE_TOKEN_MAX)
		return -1;
	slot = token_cache_slot(token, len);
	if (slot->len != len || slot->exp <= now ||
	    !token_cache_same(slot->token, token, len))
		return -1;
	memcpy(sub, slot->sub, UUID_TEXT_SIZE);
	return 0;
}

void
token_cache_put(const char *token, long exp, const char *sub)
{
	size_t len = strlen(token);
	struct token_cache_slot *slot;

	if (len == 0 || len > TOKEN_CACHE_TOKEN_MAX ||
	    strlen(sub) >= UUID_TEXT_SIZE)
		return;
	slot = token_cache_slot(token, len);
	slot->len = len;
	slot->exp = exp;
	memcpy(slot->token, token, len);
	memcpy(slot->sub, sub, strlen(sub) + 1);
}

void
token_cache_clear(void)
{
	/* Only the slots in use are written: the others' pages stay
	 * untouched. */
	for (size_t i = 0; i < TOKEN_CACHE_SLOTS; i++)
		if (token_cache_slots[i].len != 0)
			token_cache_slots[i].len = 0;
}
