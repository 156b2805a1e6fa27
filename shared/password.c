#include <stdlib.h>
#include <string.h>

#include <crypt.h>

#include "password.h"

/* "$y$": yescrypt; count 0 lets libxcrypt pick its current default cost. */
#define PASSWORD_PREFIX	"$y$"

char *
password_hash(const char *password)
{
	char *setting, *hash, *copy = NULL;
	void *data = NULL;
	int size = 0;

	setting = crypt_gensalt_ra(PASSWORD_PREFIX, 0, NULL, 0);
	if (setting == NULL)
		return NULL;
	hash = crypt_ra(password, setting, &data, &size);
	/* libxcrypt signals failure by a hash that starts with '*'. */
	if (hash != NULL && hash[0] != '*')
		copy = strdup(hash);
	free(data);
	free(setting);
	return copy;
}

int
password_verify(const char *password, const char *hash)
{
	void *data = NULL;
	int size = 0, match = 0;
	const char *again;

	again = crypt_ra(password, hash, &data, &size);
	if (again != NULL && again[0] != '*' &&
	    strlen(again) == strlen(hash)) {
		unsigned char diff = 0;

		/* Constant time: look at every byte whatever differs. */
		for (size_t i = 0; hash[i] != '\0'; i++)
			diff |= (unsigned char)(again[i] ^ hash[i]);
		match = diff == 0;
	}
	free(data);
	return match;
}
