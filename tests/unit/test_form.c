/* Unit tests of fcgi-app/form.c: form_parse, form_get and form_decode. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fcgi-app/form.h"
#include "check.h"

/* Parses the C string s; returns form_parse's result. */
static int
parse(struct form *form, const char *s)
{
	return form_parse(form, s, strlen(s));
}

/* 1 when field name is present with exactly the len bytes of value. */
static int
has(const struct form *form, const char *name, const char *value, size_t len)
{
	const struct form_field *f = form_get(form, name);

	return f != NULL && f->value_len == len &&
	    memcmp(f->value, value, len) == 0 && f->value[len] == '\0';
}

static void
test_mixed_pairs(void)
{
	struct form form;

	CHECK(parse(&form, "a=1&b=two+words&c=%41%42&d=&e") == 0);
	CHECK(form.nfields == 5);
	CHECK(has(&form, "a", "1", 1));
	CHECK(has(&form, "b", "two words", 9));
	CHECK(has(&form, "c", "AB", 2));
	CHECK(has(&form, "d", "", 0));
	/* No '=': the name with an empty value. */
	CHECK(has(&form, "e", "", 0));
	CHECK(form_get(&form, "f") == NULL);
	CHECK(form_get(&form, "") == NULL);
	CHECK(form_get(&form, "A") == NULL);
	/* Fields keep their order. */
	CHECK(strcmp(form.fields[0].name, "a") == 0);
	CHECK(strcmp(form.fields[4].name, "e") == 0);
	form_free(&form);
	CHECK(form.nfields == 0);
}

static void
test_names_decoded(void)
{
	struct form form;

	CHECK(parse(&form, "first+name=Ada&last%5Fname=Lovelace") == 0);
	CHECK(form.nfields == 2);
	CHECK(has(&form, "first name", "Ada", 3));
	CHECK(has(&form, "last_name", "Lovelace", 8));
	form_free(&form);
}

/* Only the first '=' splits: the rest belongs to the value. */
static void
test_equals_in_value(void)
{
	struct form form;

	CHECK(parse(&form, "q=a=b&r==") == 0);
	CHECK(has(&form, "q", "a=b", 3));
	CHECK(has(&form, "r", "=", 1));
	form_free(&form);
}

static void
test_encoded_nul(void)
{
	struct form form;

	CHECK(parse(&form, "p=ab%00cd&z=%00") == 0);
	CHECK(has(&form, "p", "ab\0cd", 5));
	CHECK(has(&form, "z", "\0", 1));
	/* strlen would see only "ab": value_len tells the caller more. */
	CHECK(strlen(form_get(&form, "p")->value) == 2);
	form_free(&form);
}

/*
 * A name holding an encoded NUL is not the name before the NUL: form_get
 * must not give "user\0x" for "user" (names have no length of their own).
 */
static void
test_encoded_nul_in_name(void)
{
	struct form form;

	CHECK(parse(&form, "user%00x=evil&user=good") == 0);
	/* The field whose name holds a NUL is dropped. */
	CHECK(form.nfields == 1);
	CHECK(has(&form, "user", "good", 4));
	form_free(&form);
}

static void
test_bad_escapes(void)
{
	struct form form;

	CHECK(parse(&form, "a=%4&b=%zz&c=%&d=%4g&e=100%&f=%%41") == 0);
	CHECK(has(&form, "a", "%4", 2));
	CHECK(has(&form, "b", "%zz", 3));
	CHECK(has(&form, "c", "%", 1));
	CHECK(has(&form, "d", "%4g", 3));
	CHECK(has(&form, "e", "100%", 4));
	CHECK(has(&form, "f", "%A", 2));
	form_free(&form);

	/* At the very end of the input, not only of a value. */
	CHECK(parse(&form, "x=%4") == 0);
	CHECK(has(&form, "x", "%4", 2));
	form_free(&form);
	CHECK(parse(&form, "x=%") == 0);
	CHECK(has(&form, "x", "%", 1));
	form_free(&form);
}

/* An escape is decoded once: %2541 is "%41", not "A". */
static void
test_no_double_decoding(void)
{
	struct form form;

	CHECK(parse(&form, "v=%2541&w=%26x%3Dy") == 0);
	CHECK(form.nfields == 2);
	CHECK(has(&form, "v", "%41", 3));
	CHECK(has(&form, "w", "&x=y", 4));
	form_free(&form);
}

static void
test_repeated_key(void)
{
	struct form form;

	CHECK(parse(&form, "k=first&k=second&k=third") == 0);
	CHECK(form.nfields == 3);
	CHECK(has(&form, "k", "first", 5));
	form_free(&form);
}

static void
test_too_many_fields(void)
{
	struct form form;
	char buf[1024];
	size_t n = 0;
	char name[16];

	for (int i = 0; i < FORM_MAX_FIELDS + 8; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%sf%d=%d",
		    i > 0 ? "&" : "", i, i);
	CHECK(n < sizeof(buf));
	CHECK(form_parse(&form, buf, n) == 0);
	CHECK(form.nfields == FORM_MAX_FIELDS);
	CHECK(has(&form, "f0", "0", 1));
	snprintf(name, sizeof(name), "f%d", FORM_MAX_FIELDS - 1);
	CHECK(form_get(&form, name) != NULL);
	snprintf(name, sizeof(name), "f%d", FORM_MAX_FIELDS);
	CHECK(form_get(&form, name) == NULL);
	snprintf(name, sizeof(name), "f%d", FORM_MAX_FIELDS + 7);
	CHECK(form_get(&form, name) == NULL);
	form_free(&form);
}

static void
test_empty_input(void)
{
	struct form form;

	CHECK(form_parse(&form, "", 0) == 0);
	CHECK(form.nfields == 0);
	CHECK(form_get(&form, "") == NULL);
	form_free(&form);

	CHECK(parse(&form, "&&&") == 0);
	CHECK(form.nfields == 0);
	form_free(&form);

	/* Empty pairs between real ones are skipped. */
	CHECK(parse(&form, "&a=1&&b=2&") == 0);
	CHECK(form.nfields == 2);
	CHECK(has(&form, "a", "1", 1));
	CHECK(has(&form, "b", "2", 1));
	form_free(&form);
}

/* len bounds the input: nothing after it is parsed. */
static void
test_length_bounds_input(void)
{
	struct form form;

	CHECK(form_parse(&form, "a=1&b=2", 3) == 0);
	CHECK(form.nfields == 1);
	CHECK(has(&form, "a", "1", 1));
	CHECK(form_get(&form, "b") == NULL);
	form_free(&form);

	CHECK(form_parse(&form, "a=%41", 4) == 0);
	CHECK(has(&form, "a", "%4", 2));
	form_free(&form);
}

static void
test_decode_plus(void)
{
	size_t len = 99;
	char *s;

	s = form_decode("a+b%2B", 6, 0, &len);
	CHECK(s != NULL && strcmp(s, "a+b+") == 0);
	CHECK(len == 4);
	free(s);

	s = form_decode("a+b%2B", 6, 1, &len);
	CHECK(s != NULL && strcmp(s, "a b+") == 0);
	CHECK(len == 4);
	free(s);

	/* Path-style: %20 still decodes. */
	s = form_decode("a%20b", 5, 0, NULL);
	CHECK(s != NULL && strcmp(s, "a b") == 0);
	free(s);
}

static void
test_decode_cases(void)
{
	size_t len = 99;
	char *s;

	s = form_decode("%c3%A9%7e", 9, 1, &len);
	CHECK(s != NULL && len == 3 && memcmp(s, "\xc3\xa9~", 4) == 0);
	free(s);

	s = form_decode("", 0, 1, &len);
	CHECK(s != NULL && s[0] == '\0' && len == 0);
	free(s);

	s = form_decode("%00", 3, 1, &len);
	CHECK(s != NULL && len == 1 && s[0] == '\0' && s[1] == '\0');
	free(s);

	s = form_decode("%ff%FF", 6, 0, &len);
	CHECK(s != NULL && len == 2 && memcmp(s, "\xff\xff", 2) == 0);
	free(s);
}

int
main(void)
{
	test_mixed_pairs();
	test_names_decoded();
	test_equals_in_value();
	test_encoded_nul();
	test_encoded_nul_in_name();
	test_bad_escapes();
	test_no_double_decoding();
	test_repeated_key();
	test_too_many_fields();
	test_empty_input();
	test_length_bounds_input();
	test_decode_plus();
	test_decode_cases();
	return check_done("form");
}
