#include <string.h>

#include "cors.h"

#define CORS_SEPARATORS	" \t,"

static int
cors_plausible(const char *origin)
{
	size_t len = strlen(origin);

	if (len == 0 || len > CORS_ORIGIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)origin[i] <= ' ' ||
		    (unsigned char)origin[i] >= 0x7f)
			return 0;
	return 1;
}

int
cors_origin_allowed(const char *list, const char *origin)
{
	size_t olen;

	if (list == NULL || origin == NULL || !cors_plausible(origin))
		return 0;
	olen = strlen(origin);
	while (*list != '\0') {
		size_t n;

		list += strspn(list, CORS_SEPARATORS);
		n = strcspn(list, CORS_SEPARATORS);
		if ((n == 1 && list[0] == '*') ||
		    (n == olen && memcmp(list, origin, n) == 0))
			return 1;
		list += n;
	}
	return 0;
}
