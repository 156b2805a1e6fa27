/*
 * Parsing untrusted JSON: request bodies and WebSocket frames. The input is
 * checked for UTF-8 first, parsed strictly with a nesting cap, and must be
 * one JSON object with nothing but white space after it.
 */
#ifndef CHAT_JSON_INPUT_H
#define CHAT_JSON_INPUT_H

#include <stddef.h>

#include <json-c/json.h>

/* Deeper nesting than this is refused as bad JSON. */
#define JSON_INPUT_MAX_DEPTH	16

enum json_input_status {
	JSON_INPUT_OK,
	JSON_INPUT_EMPTY,	/* nothing but white space */
	JSON_INPUT_BAD_UTF8,
	JSON_INPUT_BAD_JSON,
	JSON_INPUT_NOT_OBJECT,
};

/*
 * buf[len] must be a NUL byte. On JSON_INPUT_OK *out holds the object;
 * the caller puts it.
 */
enum json_input_status json_input_parse(const char *buf, size_t len,
	    struct json_object **out);

enum json_input_field {
	JSON_FIELD_OK,
	JSON_FIELD_MISSING,	/* absent or null */
	JSON_FIELD_NOT_STRING,
	JSON_FIELD_HAS_NUL,	/* holds U+0000 */
};

/*
 * Looks up a string member of obj. On JSON_FIELD_OK, *value points into obj
 * (valid while obj lives) and *len is its length in bytes.
 */
enum json_input_field json_input_string(struct json_object *obj,
	    const char *key, const char **value, size_t *len);

#endif
