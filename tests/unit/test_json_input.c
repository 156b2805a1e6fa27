/* Unit tests of shared/json_input.c: json_input_parse and json_input_string. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_input.h"
#include "utf8.h"

/*
 * Parses a C literal (which may hold NULs) and frees any object. The
 * literal's terminator is the NUL that json_input_parse wants at buf[len].
 */
#define STATUS(lit)	status_of((lit), sizeof(lit) - 1)

/* Stands for "not set": json_input_parse must overwrite *out. */
static char unset;

static enum json_input_status
status_of(const char *buf, size_t len)
{
	struct json_object *obj = (struct json_object *)(void *)&unset;
	enum json_input_status st;

	st = json_input_parse(buf, len, &obj);
	/* *out is an object exactly when the status is OK. */
	if (st == JSON_INPUT_OK) {
		if (obj == NULL || !json_object_is_type(obj, json_type_object))
			return (enum json_input_status)-1;
		json_object_put(obj);
	} else if (obj != NULL)
		return (enum json_input_status)-1;
	return st;
}

/*
 * Builds depth nested arrays ("[[...[inner]...]]") or objects
 * ({"a":{"a":...{inner}...}}); inner goes into the innermost one.
 */
static char *
nested(int depth, int objects, const char *inner)
{
	size_t size = (size_t)depth * 6 + strlen(inner) + 1, n = 0;
	char *buf = malloc(size);

	if (buf == NULL)
		return NULL;
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s",
		    objects ? (i + 1 < depth ? "{\"a\":" : "{") : "[");
	n += (size_t)snprintf(buf + n, size - n, "%s", inner);
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s",
		    objects ? "}" : "]");
	return buf;
}

static enum json_input_status
nested_status(int depth, int objects, const char *inner)
{
	char *buf = nested(depth, objects, inner);
	enum json_input_status st;

	if (buf == NULL)
		return (enum json_input_status)-1;
	st = status_of(buf, strlen(buf));
	free(buf);
	return st;
}

static void
test_object(void)
{
	struct json_object *obj = NULL, *v;
	const char doc[] = "{\"name\":\"ada\",\"n\":42,\"ok\":true}";

	CHECK(json_input_parse(doc, sizeof(doc) - 1, &obj) == JSON_INPUT_OK);
	CHECK(obj != NULL && json_object_is_type(obj, json_type_object));
	CHECK(json_object_object_length(obj) == 3);
	CHECK(json_object_object_get_ex(obj, "n", &v) &&
	    json_object_get_int(v) == 42);
	json_object_put(obj);

	CHECK(STATUS("{}") == JSON_INPUT_OK);
	CHECK(STATUS("  {}") == JSON_INPUT_OK);
	CHECK(STATUS("{\"a\":[1,2,{\"b\":null}]}") == JSON_INPUT_OK);
	CHECK(STATUS("{\"\xc3\xa9\":\"\xf0\x9f\x98\x80\"}") == JSON_INPUT_OK);
}

static void
test_nested_objects(void)
{
	struct json_object *obj = NULL, *a, *b;
	const char doc[] = "{\"a\":{\"b\":{\"c\":\"deep\"}}}";

	CHECK(json_input_parse(doc, sizeof(doc) - 1, &obj) == JSON_INPUT_OK);
	CHECK(obj != NULL &&
	    json_object_object_get_ex(obj, "a", &a) &&
	    json_object_object_get_ex(a, "b", &b) &&
	    json_object_is_type(b, json_type_object));
	json_object_put(obj);
}

static void
test_empty(void)
{
	CHECK(STATUS("") == JSON_INPUT_EMPTY);
	CHECK(STATUS(" ") == JSON_INPUT_EMPTY);
	CHECK(STATUS(" \t\r\n ") == JSON_INPUT_EMPTY);
	/* A NUL is not white space. */
	CHECK(STATUS("\0") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS(" \0 ") == JSON_INPUT_BAD_JSON);
	/* Nor is a vertical tab or form feed for JSON. */
	CHECK(STATUS("\v") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("\f") == JSON_INPUT_BAD_JSON);
}

static void
test_bad_utf8(void)
{
	CHECK(STATUS("{\"a\":\"\xff\"}") == JSON_INPUT_BAD_UTF8);
	CHECK(STATUS("{\"a\":\"\xc0\x80\"}") == JSON_INPUT_BAD_UTF8);
	CHECK(STATUS("{\"a\":\"\xed\xa0\x80\"}") == JSON_INPUT_BAD_UTF8);
	CHECK(STATUS("{\"a\":\"\xc3\"}") == JSON_INPUT_BAD_UTF8);
	CHECK(STATUS("{\"\xe2\x82\":1}") == JSON_INPUT_BAD_UTF8);
	/* Checked before the syntax. */
	CHECK(STATUS("\xff") == JSON_INPUT_BAD_UTF8);
}

static void
test_syntax_errors(void)
{
	CHECK(STATUS("{") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\" 1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":1,}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{a:1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":'x'}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":\"unterminated}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":tru}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":01}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":\"\\x41\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("hello") == JSON_INPUT_BAD_JSON);
}

/*
 * The header promises strict parsing: none of these is JSON (RFC 8259),
 * though json-c's lenient mode takes them all.
 */
static void
test_not_json(void)
{
	CHECK(STATUS("{\"a\":NaN}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":Infinity}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":-Infinity}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":1.}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":.5}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":+1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":0x10}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":True}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{'a':1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{/*c*/}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{}//c") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("\xef\xbb\xbf{}") == JSON_INPUT_BAD_JSON);	/* BOM */
}

/* Control characters must be escaped inside strings, not outside. */
static void
test_control_characters(void)
{
	CHECK(STATUS("{\"a\":\"x\ty\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":\"x\ny\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":\"x\x01y\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":\"x\x1fy\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\tb\":1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("\"x\ty\"") == JSON_INPUT_BAD_JSON);
	/* After an escaped quote the string goes on. */
	CHECK(STATUS("{\"a\":\"x\\\"\ty\"}") == JSON_INPUT_BAD_JSON);
	/* Escaped, they are fine; DEL needs no escape. */
	CHECK(STATUS("{\"a\":\"x\\ty\\n\\u0001\x7f\"}") == JSON_INPUT_OK);
	/* White space between tokens, also after a string that ends in an
	 * escaped backslash. */
	CHECK(STATUS("{\n\t\"a\" :\t1,\r\n\"b\":\"x\\\\\"\t}\n") ==
	    JSON_INPUT_OK);
}

static void
test_trailing_garbage(void)
{
	CHECK(STATUS("{}x") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{} x") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{}{}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":1} {\"b\":2}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{}]") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{},") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{}\0") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{} \0") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{}\n\0garbage") == JSON_INPUT_BAD_JSON);
}

static void
test_trailing_white_space(void)
{
	CHECK(STATUS("{} ") == JSON_INPUT_OK);
	CHECK(STATUS("{}\n") == JSON_INPUT_OK);
	CHECK(STATUS("{\"a\":1}\r\n\t  \n") == JSON_INPUT_OK);
}

static void
test_not_object(void)
{
	CHECK(STATUS("[]") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("[1,2,3]") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("[{}]") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("\"str\"") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("123 ") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("true ") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("false\n") == JSON_INPUT_NOT_OBJECT);
}

/*
 * A number or literal that ends the input: json-c cannot tell it is
 * complete until it sees the byte after it (here the NUL at buf[len]).
 * Whatever happens it must not be OK, and it should be NOT_OBJECT like
 * "123 ".
 */
static void
test_scalar_at_end(void)
{
	CHECK(STATUS("123") != JSON_INPUT_OK);
	CHECK(STATUS("123") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("-1.5e3") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("0") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("true") != JSON_INPUT_OK);
	CHECK(STATUS("true") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("false") == JSON_INPUT_NOT_OBJECT);
	/* A NUL inside len after the number is garbage, not the end. */
	CHECK(STATUS("12\0") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("12\0" "3") == JSON_INPUT_BAD_JSON);
}

/* json-c gives JSON null as a NULL object: still not an object, not bad. */
static void
test_null_top_level(void)
{
	CHECK(STATUS("null") != JSON_INPUT_OK);
	CHECK(STATUS("null ") != JSON_INPUT_OK);
	CHECK(STATUS("null ") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS(" null\n") == JSON_INPUT_NOT_OBJECT);
	CHECK(STATUS("null") == JSON_INPUT_NOT_OBJECT);
}

static void
test_depth(void)
{
	/* JSON_INPUT_MAX_DEPTH levels of nesting are allowed ... */
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH, 0, "") ==
	    JSON_INPUT_NOT_OBJECT);
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH, 1, "") == JSON_INPUT_OK);
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH - 1, 1, "\"x\":\"y\"") ==
	    JSON_INPUT_OK);
	/* ... also when the innermost one is not empty ... */
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH, 1, "\"x\":\"y\"") ==
	    JSON_INPUT_OK);
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH, 0, "1") ==
	    JSON_INPUT_NOT_OBJECT);
	/* ... one more is not. */
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH + 1, 0, "") ==
	    JSON_INPUT_BAD_JSON);
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH + 1, 1, "") ==
	    JSON_INPUT_BAD_JSON);
	CHECK(nested_status(JSON_INPUT_MAX_DEPTH + 1, 1, "\"x\":\"y\"") ==
	    JSON_INPUT_BAD_JSON);
	CHECK(nested_status(1000, 1, "") == JSON_INPUT_BAD_JSON);
	CHECK(nested_status(1000, 0, "") == JSON_INPUT_BAD_JSON);
}

static void
test_raw_nul(void)
{
	CHECK(STATUS("{\"a\":\"x\0y\"}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\0\":1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\0\"a\":1}") == JSON_INPUT_BAD_JSON);
	CHECK(STATUS("{\"a\":1\0}") == JSON_INPUT_BAD_JSON);
}

/* Parses the C string doc, which must be an object, for the string tests. */
static struct json_object *
object(const char *doc)
{
	struct json_object *obj = NULL;

	if (json_input_parse(doc, strlen(doc), &obj) != JSON_INPUT_OK)
		return NULL;
	return obj;
}

static void
test_string_field(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	obj = object("{\"name\":\"ada\",\"empty\":\"\",\"esc\":\"a\\\"b\\\\\"}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "name", &value, &len) == JSON_FIELD_OK);
	CHECK(value != NULL && len == 3 && strcmp(value, "ada") == 0);
	CHECK(json_input_string(obj, "empty", &value, &len) == JSON_FIELD_OK);
	CHECK(value != NULL && len == 0 && value[0] == '\0');
	CHECK(json_input_string(obj, "esc", &value, &len) == JSON_FIELD_OK);
	CHECK(value != NULL && len == 4 && strcmp(value, "a\"b\\") == 0);
	json_object_put(obj);
}

static void
test_string_missing(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	obj = object("{\"name\":\"ada\",\"nothing\":null,\"obj\":{\"x\":\"y\"}}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "absent", &value, &len) ==
	    JSON_FIELD_MISSING);
	CHECK(json_input_string(obj, "nothing", &value, &len) ==
	    JSON_FIELD_MISSING);
	/* Keys are case-sensitive and not searched in nested objects. */
	CHECK(json_input_string(obj, "Name", &value, &len) ==
	    JSON_FIELD_MISSING);
	CHECK(json_input_string(obj, "x", &value, &len) == JSON_FIELD_MISSING);
	json_object_put(obj);
}

static void
test_string_wrong_type(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	obj = object("{\"n\":1,\"f\":1.5,\"a\":[\"x\"],\"o\":{},\"b\":false}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "n", &value, &len) ==
	    JSON_FIELD_NOT_STRING);
	CHECK(json_input_string(obj, "f", &value, &len) ==
	    JSON_FIELD_NOT_STRING);
	CHECK(json_input_string(obj, "a", &value, &len) ==
	    JSON_FIELD_NOT_STRING);
	CHECK(json_input_string(obj, "o", &value, &len) ==
	    JSON_FIELD_NOT_STRING);
	CHECK(json_input_string(obj, "b", &value, &len) ==
	    JSON_FIELD_NOT_STRING);
	json_object_put(obj);
}

static void
test_string_has_nul(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	obj = object("{\"a\":\"x\\u0000y\",\"b\":\"\\u0000\",\"c\":\"ok\"}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "a", &value, &len) == JSON_FIELD_HAS_NUL);
	CHECK(json_input_string(obj, "b", &value, &len) == JSON_FIELD_HAS_NUL);
	CHECK(json_input_string(obj, "c", &value, &len) == JSON_FIELD_OK);
	json_object_put(obj);
}

static void
test_string_multibyte_length(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	/* Raw UTF-8 and \u escapes (with a surrogate pair) both count bytes. */
	obj = object("{\"raw\":\"\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\","
	    "\"esc\":\"\\u00e9\\u20ac\\ud83d\\ude00\"}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "raw", &value, &len) == JSON_FIELD_OK);
	CHECK(len == 10 && memcmp(value, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80",
	    10) == 0);
	CHECK(json_input_string(obj, "esc", &value, &len) == JSON_FIELD_OK);
	CHECK(len == 9 && memcmp(value, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    9) == 0);
	json_object_put(obj);
}

/* Escapes cannot smuggle invalid UTF-8 past the check of the input. */
static void
test_string_lone_surrogate(void)
{
	struct json_object *obj;
	const char *value = NULL;
	size_t len = 0;

	obj = object("{\"hi\":\"\\ud800\",\"lo\":\"x\\udc00\"}");
	CHECK(obj != NULL);
	if (obj == NULL)
		return;
	CHECK(json_input_string(obj, "hi", &value, &len) == JSON_FIELD_OK);
	CHECK(utf8_valid(value, len));
	CHECK(len == 3 && memcmp(value, "\xef\xbf\xbd", 3) == 0);	/* U+FFFD */
	CHECK(json_input_string(obj, "lo", &value, &len) == JSON_FIELD_OK);
	CHECK(utf8_valid(value, len));
	CHECK(len == 4 && memcmp(value, "x\xef\xbf\xbd", 4) == 0);
	json_object_put(obj);
}

int
main(void)
{
	test_object();
	test_nested_objects();
	test_empty();
	test_bad_utf8();
	test_syntax_errors();
	test_not_json();
	test_control_characters();
	test_trailing_garbage();
	test_trailing_white_space();
	test_not_object();
	test_scalar_at_end();
	test_null_top_level();
	test_depth();
	test_raw_nul();
	test_string_field();
	test_string_missing();
	test_string_wrong_type();
	test_string_has_nul();
	test_string_multibyte_length();
	test_string_lone_surrogate();
	return check_done("json_input");
}
