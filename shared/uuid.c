#include <ctype.h>
#include <string.h>

#include "uuid.h"

int
uuid_normalize(const char *in, char out[UUID_TEXT_SIZE])
{
	if (in == NULL || strlen(in) != UUID_TEXT_SIZE - 1)
		return -1;
	for (int i = 0; i < UUID_TEXT_SIZE - 1; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return -1;
			out[i] = '-';
		} else {
			if (!isxdigit(c))
				return -1;
			out[i] = (char)tolower(c);
		}
	}
	out[UUID_TEXT_SIZE - 1] = '\0';
	return 0;
}
