/*
 * The rules of the values clients send, the same over REST and WebSocket:
 * string members of a JSON object, string lengths, UUIDs, message content
 * (CONTRACT §5) and temp_id (CONTRACT §6). A check returns 0, or -1 with
 * the msg and type of its 422 entry (docs/API.md) in *e: chat-fcgi lists
 * the entry under its loc, chat-push answers "name: msg" in an error frame.
 */
#ifndef CHAT_RULES_H
#define CHAT_RULES_H

#include <stddef.h>

#include <json-c/json.h>

#include "uuid.h"

/* Message content, in characters once white space is set aside. */
#define RULES_CONTENT_MAX	5000
/* A temp_id, in characters; its bytes with the NUL (4 a character). */
#define RULES_TEMP_ID_MAX	64
#define RULES_TEMP_ID_SIZE	(RULES_TEMP_ID_MAX * 4 + 1)
/* An avatar URL, in characters. */
#define RULES_URL_MAX		2048
/* An Idempotency-Key header (CONTRACT §10): printable ASCII characters. */
#define RULES_KEY_MAX		64

/* The account rules of CONTRACT §3 (registration, chatctl), in characters. */
#define RULES_USERNAME_MIN	3
#define RULES_USERNAME_MAX	32
#define RULES_USERNAME_CHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
				"abcdefghijklmnopqrstuvwxyz0123456789_.-"
#define RULES_EMAIL_MAX		254
#define RULES_PASSWORD_MIN	8
#define RULES_PASSWORD_MAX	128
#define RULES_FULL_NAME_MAX	100

/* Why a value is refused: the msg and type of its 422 entry. */
struct rules_error {
	char		 msg[80];
	const char	*type;
};

enum rules_refusal {
	RULES_MISSING,		/* absent, or null where not nullable */
	RULES_NOT_STRING,
	RULES_HAS_NUL,		/* holds U+0000 */
	RULES_BAD_UTF8,
	RULES_TOO_SHORT,	/* fewer characters than the bound */
	RULES_TOO_LONG,		/* more characters than the bound */
	RULES_NOT_UUID,
	RULES_BAD_TEMP_ID,	/* not a string of at most the bound */
	RULES_BAD_KEY,		/* not 1 to the bound printable ASCII */
	RULES_BAD_URL,		/* not an http or https URL */
	RULES_NOT_LIST,
	RULES_TOO_MANY,		/* more items than the bound */
	RULES_REPEATED,		/* an item twice where each must be unique */
};

/*
 * Words refusal in *e; bound is the number of characters that TOO_SHORT,
 * TOO_LONG and BAD_TEMP_ID name (0 for the others). Returns -1.
 */
int	rules_refuse(struct rules_error *e, enum rules_refusal refusal,
	    size_t bound);

/* s[0..len): valid UTF-8 of min..max characters with no U+0000. */
int	rules_string(const char *s, size_t len, size_t min, size_t max,
	    struct rules_error *e);

/*
 * Member name of obj, a string with no U+0000: *value points into obj and
 * *len is its length in bytes. An optional member that is absent or null
 * is 0 with *value NULL.
 */
int	rules_json_string(struct json_object *obj, const char *name,
	    int optional, const char **value, size_t *len,
	    struct rules_error *e);

/* An Idempotency-Key: 1 to RULES_KEY_MAX printable ASCII characters. */
int	rules_idempotency_key(const char *s, size_t len, struct rules_error *e);

/* Whether every character of a username is one of RULES_USERNAME_CHARS. */
int	rules_username_chars(const char *s);

/* Whether s is an email address: one '@', a non-empty local part, a
 * dotted domain with no empty label, no blank or control character. */
int	rules_email(const char *s);

/* A hyphenated UUID in either case; out receives it in lowercase. */
int	rules_uuid(const char *text, char out[UUID_TEXT_SIZE],
	    struct rules_error *e);

/* Member name of obj, a UUID; out receives it in lowercase. */
int	rules_json_uuid(struct json_object *obj, const char *name,
	    char out[UUID_TEXT_SIZE], struct rules_error *e);

/*
 * Message content, member name of obj: a string of 1..RULES_CONTENT_MAX
 * characters once leading and trailing white space is set aside, valid
 * UTF-8, no U+0000. *value is the content as sent.
 */
int	rules_json_content(struct json_object *obj, const char *name,
	    const char **value, struct rules_error *e);

/* An avatar: an http or https URL with something after the scheme. */
int	rules_url(const char *s, struct rules_error *e);

/* The room rules_json_uuid_list() needs for a list of n UUIDs. */
#define RULES_UUID_LIST_SIZE(n)	((n) * UUID_TEXT_SIZE + 3)

/*
 * Member name of obj, a list of at most max UUIDs (each unique when
 * unique): literal (RULES_UUID_LIST_SIZE(max) bytes) receives them as
 * the text of a PostgreSQL uuid[], "{a,b}" ("{}" when empty), and *count
 * their number. An item that is not a UUID is refused as the member is.
 */
int	rules_json_uuid_list(struct json_object *obj, const char *name,
	    size_t max, int unique, char *literal, size_t *count,
	    struct rules_error *e);

/*
 * The temp_id member of obj: absent or null (*value NULL), or a string of
 * at most RULES_TEMP_ID_MAX characters with no U+0000 (*len bytes).
 */
int	rules_json_temp_id(struct json_object *obj, const char **value,
	    size_t *len, struct rules_error *e);

#endif
