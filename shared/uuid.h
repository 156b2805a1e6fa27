/* UUIDs as text: the only form in which they cross our interfaces. */
#ifndef CHAT_UUID_H
#define CHAT_UUID_H

/* 36 characters and a NUL. */
#define UUID_TEXT_SIZE	37

/*
 * Checks that in is a hyphenated 8-4-4-4-12 UUID, in either case, and
 * writes its lowercase form to out. Returns 0, or -1 when in is not one.
 */
int	uuid_normalize(const char *in, char out[UUID_TEXT_SIZE]);

#endif
