/* Which browser origins may call the API (http.cors_origins). */
#ifndef CHAT_CORS_H
#define CHAT_CORS_H

#define CORS_ORIGIN_MAX	512

/*
 * Returns 1 when origin appears in list (origins separated by spaces or
 * commas, "*" for any), 0 otherwise or when origin is not a plausible
 * header value.
 */
int	cors_origin_allowed(const char *list, const char *origin);

#endif
