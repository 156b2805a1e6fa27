/* Unit tests of shared/password.c: password_hash and password_verify. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "password.h"

#define SECRET	"correct horse battery staple"

static void
test_hash_format(void)
{
	char *h = password_hash(SECRET);

	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(strncmp(h, "$y$", 3) == 0);
	/* "$y$" params "$" salt "$" hash: four '$' in all. */
	CHECK(strchr(h + 3, '$') != NULL &&
	    strchr(strchr(h + 3, '$') + 1, '$') != NULL);
	CHECK(strlen(h) > 40);
	CHECK(strstr(h, SECRET) == NULL);
	CHECK(strstr(h, "horse") == NULL);
	free(h);
}

static void
test_salted(void)
{
	char *a = password_hash(SECRET), *b = password_hash(SECRET);

	CHECK(a != NULL && b != NULL);
	if (a != NULL && b != NULL) {
		CHECK(strcmp(a, b) != 0);
		/* Both still verify. */
		CHECK(password_verify(SECRET, a) == 1);
		CHECK(password_verify(SECRET, b) == 1);
	}
	free(a);
	free(b);
}

static void
test_verify(void)
{
	char *h = password_hash(SECRET);

	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(password_verify(SECRET, h) == 1);
	CHECK(password_verify("correct horse battery stapl", h) == 0);
	CHECK(password_verify(SECRET " ", h) == 0);
	CHECK(password_verify("Correct horse battery staple", h) == 0);
	CHECK(password_verify("", h) == 0);
	free(h);
}

static void
test_empty_password(void)
{
	char *h = password_hash("");

	/* Hashing an empty password works; the caller decides to refuse it. */
	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(strncmp(h, "$y$", 3) == 0);
	CHECK(password_verify("", h) == 1);
	CHECK(password_verify("x", h) == 0);
	free(h);
}

static void
test_non_ascii_password(void)
{
	const char *pw = "p\xc3\xa4ssw\xc3\xb6rd \xf0\x9f\x94\x91";
	char *h = password_hash(pw);

	CHECK(h != NULL);
	if (h == NULL)
		return;
	CHECK(password_verify(pw, h) == 1);
	CHECK(password_verify("passw\xc3\xb6rd \xf0\x9f\x94\x91", h) == 0);
	CHECK(strstr(h, pw) == NULL);
	free(h);
}

static void
test_garbage_hash(void)
{
	CHECK(password_verify(SECRET, "") == 0);
	CHECK(password_verify("", "") == 0);
	CHECK(password_verify(SECRET, "*") == 0);
	CHECK(password_verify(SECRET, "*0") == 0);
	CHECK(password_verify(SECRET, "*1") == 0);
	CHECK(password_verify(SECRET, "$y$bad") == 0);
	CHECK(password_verify(SECRET, "$y$") == 0);
	CHECK(password_verify(SECRET, "$") == 0);
	CHECK(password_verify(SECRET, "!") == 0);
	CHECK(password_verify(SECRET, SECRET) == 0);
}

/* A damaged stored hash never matches, whatever its damage. */
static void
test_damaged_hash(void)
{
	char *h = password_hash(SECRET), *setting, *last;
	size_t len;

	CHECK(h != NULL);
	if (h == NULL)
		return;
	len = strlen(h);

	/* Truncated by one character. */
	h[len - 1] = '\0';
	CHECK(password_verify(SECRET, h) == 0);

	/* Only the setting (prefix, parameters and salt), no hash. */
	last = strrchr(h, '$');
	CHECK(last != NULL);
	if (last != NULL) {
		setting = strndup(h, (size_t)(last - h) + 1);
		CHECK(setting != NULL);
		if (setting != NULL)
			CHECK(password_verify(SECRET, setting) == 0);
		free(setting);
	}
	free(h);

	/* One character of the hash changed. */
	h = password_hash(SECRET);
	CHECK(h != NULL);
	if (h == NULL)
		return;
	len = strlen(h);
	h[len - 1] = h[len - 1] == 'A' ? 'B' : 'A';
	CHECK(password_verify(SECRET, h) == 0);
	free(h);
}

int
main(void)
{
	test_hash_format();
	test_salted();
	test_verify();
	test_empty_password();
	test_non_ascii_password();
	test_garbage_hash();
	test_damaged_hash();
	return check_done("password");
}
