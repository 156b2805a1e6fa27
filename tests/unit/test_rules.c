/* Unit tests of shared/rules.c: the rules of client input and their 422s. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_input.h"
#include "rules.h"

#define UUID_LOWER	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define UUID_UPPER	"0F8FAD5B-D9CB-469F-A165-70867728950E"

/* Parses a C literal (which may hold NULs) as one JSON object. */
#define OBJ(lit)	obj_of((lit), sizeof(lit) - 1)

static struct json_object *
obj_of(const char *text, size_t len)
{
	struct json_object *obj = NULL;

	if (json_input_parse(text, len, &obj) != JSON_INPUT_OK) {
		fprintf(stderr, "bad test input: %s\n", text);
		exit(2);
	}
	return obj;
}

/* Whether e holds msg and type. */
static int
refused_with(const struct rules_error *e, const char *msg, const char *type)
{
	return strcmp(e->msg, msg) == 0 && strcmp(e->type, type) == 0;
}

/*
 * The object {"key": "before, then n copies of the character c, after"};
 * before and after are JSON text.
 */
static struct json_object *
obj_repeat(const char *key, const char *before, const char *c, size_t n,
    const char *after)
{
	size_t clen = strlen(c);
	size_t len = strlen(key) + strlen(before) + strlen(after) + 16 +
	    n * clen;
	char *text = malloc(len), *p;
	struct json_object *obj;

	if (text == NULL)
		exit(2);
	p = text + snprintf(text, len, "{\"%s\": \"%s", key, before);
	for (size_t i = 0; i < n; i++, p += clen)
		memcpy(p, c, clen);
	snprintf(p, len - (size_t)(p - text), "%s\"}", after);
	obj = obj_of(text, strlen(text));
	free(text);
	return obj;
}

/* The words of docs/API.md. */
static void
test_refusals(void)
{
	static const struct {
		enum rules_refusal	 refusal;
		size_t			 bound;
		const char		*msg, *type;
	} words[] = {
		{ RULES_MISSING, 0, "field required", "value_error.missing" },
		{ RULES_NOT_STRING, 0, "str type expected", "type_error.str" },
		{ RULES_HAS_NUL, 0, "string must not contain U+0000",
		    "value_error.str.nul" },
		{ RULES_BAD_UTF8, 0, "Invalid UTF-8 in string",
		    "value_error.unicode" },
		{ RULES_TOO_SHORT, 3,
		    "ensure this value has at least 3 characters",
		    "value_error.any_str.min_length" },
		{ RULES_TOO_LONG, 5000,
		    "ensure this value has at most 5000 characters",
		    "value_error.any_str.max_length" },
		{ RULES_NOT_UUID, 0, "value is not a valid uuid",
		    "type_error.uuid" },
		{ RULES_BAD_TEMP_ID, 64,
		    "a string of at most 64 characters expected",
		    "type_error.str" },
	};
	struct rules_error e;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		memset(&e, 'x', sizeof(e));
		CHECK(rules_refuse(&e, words[i].refusal, words[i].bound) == -1);
		CHECK(refused_with(&e, words[i].msg, words[i].type));
	}
}

static void
test_string(void)
{
	struct rules_error e;
	static const char nul[] = "a\0b";

	CHECK(rules_string("abc", 3, 3, 3, &e) == 0);
	CHECK(rules_string("", 0, 0, 10, &e) == 0);
	CHECK(rules_string("ab", 2, 3, 32, &e) == -1);
	CHECK(refused_with(&e, "ensure this value has at least 3 characters",
	    "value_error.any_str.min_length"));
	CHECK(rules_string("abcd", 4, 1, 3, &e) == -1);
	CHECK(refused_with(&e, "ensure this value has at most 3 characters",
	    "value_error.any_str.max_length"));
	/* Characters, not bytes: three of two bytes each. */
	CHECK(rules_string("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 3, 3, &e) == 0);
	CHECK(rules_string(nul, sizeof(nul) - 1, 0, 10, &e) == -1);
	CHECK(refused_with(&e, "string must not contain U+0000",
	    "value_error.str.nul"));
	CHECK(rules_string("\xc3(", 2, 0, 10, &e) == -1);
	CHECK(refused_with(&e, "Invalid UTF-8 in string",
	    "value_error.unicode"));
	/* U+0000 is named before bad UTF-8, and both before the length. */
	CHECK(rules_string("\xff\0", 2, 5, 10, &e) == -1);
	CHECK(strcmp(e.type, "value_error.str.nul") == 0);
	CHECK(rules_string("\xff", 1, 5, 10, &e) == -1);
	CHECK(strcmp(e.type, "value_error.unicode") == 0);
}

static void
test_json_string(void)
{
	struct json_object *obj = OBJ("{\"s\": \"x\\u00e9\", \"n\": null, "
	    "\"i\": 5, \"a\": [\"x\"], \"z\": \"a\\u0000b\"}");
	struct rules_error e;
	const char *v;
	size_t len;

	CHECK(rules_json_string(obj, "s", 0, &v, &len, &e) == 0);
	CHECK(v != NULL && strcmp(v, "x\xc3\xa9") == 0 && len == 3);
	CHECK(rules_json_string(obj, "absent", 0, &v, &len, &e) == -1);
	CHECK(v == NULL);
	CHECK(refused_with(&e, "field required", "value_error.missing"));
	CHECK(rules_json_string(obj, "n", 0, &v, &len, &e) == -1);
	CHECK(refused_with(&e, "field required", "value_error.missing"));
	CHECK(rules_json_string(obj, "absent", 1, &v, &len, &e) == 0);
	CHECK(v == NULL);
	CHECK(rules_json_string(obj, "n", 1, &v, &len, &e) == 0);
	CHECK(v == NULL);
	CHECK(rules_json_string(obj, "i", 1, &v, &len, &e) == -1);
	CHECK(refused_with(&e, "str type expected", "type_error.str"));
	CHECK(rules_json_string(obj, "a", 0, &v, &len, &e) == -1);
	CHECK(refused_with(&e, "str type expected", "type_error.str"));
	CHECK(rules_json_string(obj, "z", 0, &v, &len, &e) == -1);
	CHECK(refused_with(&e, "string must not contain U+0000",
	    "value_error.str.nul"));
	json_object_put(obj);
}

/* Whether member name of obj is refused as a UUID with type. */
static int
uuid_refused(struct json_object *obj, const char *name, const char *type)
{
	char out[UUID_TEXT_SIZE];
	struct rules_error e;

	if (rules_json_uuid(obj, name, out, &e) != -1)
		return 0;
	if (strcmp(type, "type_error.uuid") == 0)
		return refused_with(&e, "value is not a valid uuid", type);
	return refused_with(&e, "field required", type);
}

static void
test_uuid(void)
{
	struct json_object *obj = OBJ("{\"low\": \"" UUID_LOWER "\", "
	    "\"up\": \"" UUID_UPPER "\", \"bad\": \"not-a-uuid\", "
	    "\"long\": \"" UUID_LOWER "0\", \"num\": 12, \"n\": null, "
	    "\"obj\": {}, \"nul\": \"a\\u0000b\"}");
	char out[UUID_TEXT_SIZE];
	struct rules_error e;

	CHECK(rules_uuid(UUID_UPPER, out, &e) == 0);
	CHECK(strcmp(out, UUID_LOWER) == 0);
	CHECK(rules_uuid("nope", out, &e) == -1);
	CHECK(refused_with(&e, "value is not a valid uuid", "type_error.uuid"));

	memset(out, 'x', sizeof(out));
	CHECK(rules_json_uuid(obj, "low", out, &e) == 0);
	CHECK(strcmp(out, UUID_LOWER) == 0);
	memset(out, 'x', sizeof(out));
	CHECK(rules_json_uuid(obj, "up", out, &e) == 0);
	CHECK(strcmp(out, UUID_LOWER) == 0);
	CHECK(uuid_refused(obj, "absent", "value_error.missing"));
	CHECK(uuid_refused(obj, "n", "value_error.missing"));
	CHECK(uuid_refused(obj, "bad", "type_error.uuid"));
	CHECK(uuid_refused(obj, "long", "type_error.uuid"));
	/* Not a string at all is no more a UUID than a bad string. */
	CHECK(uuid_refused(obj, "num", "type_error.uuid"));
	CHECK(uuid_refused(obj, "obj", "type_error.uuid"));
	CHECK(uuid_refused(obj, "nul", "type_error.uuid"));
	json_object_put(obj);
}

/* Whether member k of obj is refused as content with msg; puts obj. */
static int
content_refused(struct json_object *obj, const char *msg)
{
	struct rules_error e;
	const char *v;
	int ok;

	ok = rules_json_content(obj, "k", &v, &e) == -1 &&
	    strcmp(e.msg, msg) == 0;
	json_object_put(obj);
	return ok;
}

static int
content_accepted(struct json_object *obj)
{
	struct rules_error e;
	const char *v;
	int ok;

	ok = rules_json_content(obj, "k", &v, &e) == 0;
	json_object_put(obj);
	return ok;
}

#define TOO_SHORT	"ensure this value has at least 1 characters"
#define TOO_LONG	"ensure this value has at most 5000 characters"
#define MAX		RULES_CONTENT_MAX
#define GRIN		"\xf0\x9f\x98\x80"	/* U+1F600 */

static void
test_content(void)
{
	struct json_object *obj = OBJ("{\"k\": \"  hi \\t\"}");
	struct rules_error e;
	const char *v;

	/* Stored as sent: the white space stays. */
	CHECK(rules_json_content(obj, "k", &v, &e) == 0);
	CHECK(v != NULL && strcmp(v, "  hi \t") == 0);
	json_object_put(obj);

	CHECK(content_refused(OBJ("{}"), "field required"));
	CHECK(content_refused(OBJ("{\"k\": null}"), "field required"));
	CHECK(content_refused(OBJ("{\"k\": 5}"), "str type expected"));
	CHECK(content_refused(OBJ("{\"k\": {\"a\": 1}}"), "str type expected"));
	CHECK(content_refused(OBJ("{\"k\": \"a\\u0000b\"}"),
	    "string must not contain U+0000"));
	CHECK(content_refused(OBJ("{\"k\": \"\"}"), TOO_SHORT));
	CHECK(content_refused(OBJ("{\"k\": \" \\t\\n\\r \"}"), TOO_SHORT));
	/* Unicode spaces count as white space: U+3000, U+00A0, U+2003. */
	CHECK(content_refused(OBJ("{\"k\": \"\\u3000\\u00a0\\u2003\"}"),
	    TOO_SHORT));
	CHECK(content_accepted(OBJ("{\"k\": \"x\"}")));
	CHECK(content_accepted(obj_repeat("k", "", "x", MAX, "")));
	CHECK(content_refused(obj_repeat("k", "", "x", MAX + 1, ""), TOO_LONG));
	/* Characters, not bytes: U+1F600 is four. */
	CHECK(content_accepted(obj_repeat("k", "", GRIN, MAX, "")));
	CHECK(content_refused(obj_repeat("k", "", GRIN, MAX + 1, ""),
	    TOO_LONG));
	/* White space around the content does not count. */
	CHECK(content_accepted(obj_repeat("k", "   ", "x", MAX, " \\n ")));
	CHECK(content_refused(obj_repeat("k", "   ", "x", MAX + 1, " "),
	    TOO_LONG));
	/* Inside the content it does. */
	CHECK(content_refused(obj_repeat("k", "a", " ", MAX - 1, "b"),
	    TOO_LONG));
}

/* Whether the temp_id of obj is refused; puts obj. */
static int
temp_id_refused(struct json_object *obj)
{
	struct rules_error e;
	const char *v = "set";
	size_t len;
	int refused;

	refused = rules_json_temp_id(obj, &v, &len, &e) == -1 && v == NULL &&
	    strcmp(e.msg, "a string of at most 64 characters expected") == 0;
	json_object_put(obj);
	return refused;
}

static void
test_temp_id(void)
{
	struct json_object *obj;
	struct rules_error e;
	const char *v = "set";
	size_t len;

	obj = OBJ("{\"type\": \"typing\"}");
	CHECK(rules_json_temp_id(obj, &v, &len, &e) == 0 && v == NULL);
	json_object_put(obj);
	v = "set";
	obj = OBJ("{\"temp_id\": null}");
	CHECK(rules_json_temp_id(obj, &v, &len, &e) == 0 && v == NULL);
	json_object_put(obj);
	obj = OBJ("{\"temp_id\": \"t-1\"}");
	CHECK(rules_json_temp_id(obj, &v, &len, &e) == 0);
	CHECK(v != NULL && strcmp(v, "t-1") == 0 && len == 3);
	json_object_put(obj);
	obj = OBJ("{\"temp_id\": \"\"}");
	CHECK(rules_json_temp_id(obj, &v, &len, &e) == 0);
	CHECK(v != NULL && len == 0);
	json_object_put(obj);

	/* 64 characters of four bytes fit RULES_TEMP_ID_SIZE. */
	obj = obj_repeat("temp_id", "", GRIN, RULES_TEMP_ID_MAX, "");
	CHECK(rules_json_temp_id(obj, &v, &len, &e) == 0);
	CHECK(v != NULL && len == RULES_TEMP_ID_SIZE - 1);
	json_object_put(obj);

	CHECK(temp_id_refused(obj_repeat("temp_id", "", "x",
	    RULES_TEMP_ID_MAX + 1, "")));
	CHECK(temp_id_refused(obj_repeat("temp_id", "", "\xc3\xa9",
	    RULES_TEMP_ID_MAX + 1, "")));
	obj = OBJ("{\"temp_id\": 7}");
	CHECK(temp_id_refused(obj));
	obj = OBJ("{\"temp_id\": [\"a\"]}");
	CHECK(temp_id_refused(obj));
	obj = OBJ("{\"temp_id\": \"a\\u0000\"}");
	CHECK(temp_id_refused(obj));
}

/* The account rules that registration and chatctl share. */
static void
test_account_rules(void)
{
	CHECK(rules_username_chars("Alice_1.b-c"));
	CHECK(!rules_username_chars("no spaces"));
	CHECK(!rules_username_chars("caf\xc3\xa9"));
	CHECK(!rules_username_chars("a@b"));
	CHECK(rules_email("a@example.com"));
	CHECK(rules_email("first.last@mail.example.org"));
	CHECK(!rules_email("example.com"));
	CHECK(!rules_email("@example.com"));
	CHECK(!rules_email("a@b@example.com"));
	CHECK(!rules_email("a@localhost"));
	CHECK(!rules_email("a@.example.com"));
	CHECK(!rules_email("a@example.com."));
	CHECK(!rules_email("a@example..com"));
	CHECK(!rules_email("a b@example.com"));
	CHECK(!rules_email("a@exa\tmple.com"));
}

int
main(void)
{
	test_refusals();
	test_account_rules();
	test_string();
	test_json_string();
	test_uuid();
	test_content();
	test_temp_id();
	return check_done("rules");
}
