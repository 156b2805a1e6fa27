/* Unit tests of shared/uuid.c: uuid_normalize. */
#include <string.h>

#include "check.h"
#include "uuid.h"

#define LOWER	"0f8fad5b-d9cb-469f-a165-70867728950e"

/* 1 when uuid_normalize refuses in. */
static int
refused(const char *in)
{
	char out[UUID_TEXT_SIZE];

	return uuid_normalize(in, out) == -1;
}

static void
test_lowercase_kept(void)
{
	char out[UUID_TEXT_SIZE];

	memset(out, 'x', sizeof(out));
	CHECK(uuid_normalize(LOWER, out) == 0);
	CHECK(strcmp(out, LOWER) == 0);
	CHECK(out[UUID_TEXT_SIZE - 1] == '\0');
}

static void
test_uppercase_lowered(void)
{
	char out[UUID_TEXT_SIZE];

	memset(out, 'x', sizeof(out));
	CHECK(uuid_normalize("0F8FAD5B-D9CB-469F-A165-70867728950E", out) == 0);
	CHECK(strcmp(out, LOWER) == 0);
	CHECK(uuid_normalize("0f8FaD5b-D9cb-469F-a165-70867728950E", out) == 0);
	CHECK(strcmp(out, LOWER) == 0);
	CHECK(uuid_normalize("ABCDEFAB-CDEF-ABCD-EFAB-CDEFABCDEFAB", out) == 0);
	CHECK(strcmp(out, "abcdefab-cdef-abcd-efab-cdefabcdefab") == 0);
	CHECK(uuid_normalize("00000000-0000-0000-0000-000000000000", out) == 0);
	CHECK(strcmp(out, "00000000-0000-0000-0000-000000000000") == 0);
}

static void
test_wrong_length(void)
{
	CHECK(refused(""));
	CHECK(refused("0f8fad5b-d9cb-469f-a165-70867728950"));	/* 35 */
	CHECK(refused("0f8fad5b-d9cb-469f-a165-70867728950e0"));	/* 37 */
	CHECK(refused("0f8fad5b-d9cb-469f-a165-"));
}

static void
test_trailing_chars(void)
{
	CHECK(refused(LOWER " "));
	CHECK(refused(LOWER "\n"));
	CHECK(refused(LOWER "x"));
	CHECK(refused(" " LOWER));
}

static void
test_hyphens(void)
{
	/* Missing: one hyphen replaced by a hex digit (length kept). */
	CHECK(refused("0f8fad5b0d9cb-469f-a165-70867728950e"));
	CHECK(refused("0f8fad5bd9cb-469f-a165-70867728950e0"));
	CHECK(refused("0f8fad5b-d9cb0469f-a165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469f0a165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469f-a165070867728950e"));
	/* Misplaced: right count of hyphens, wrong places. */
	CHECK(refused("0f8fad5-bd9cb-469f-a165-70867728950e"));
	CHECK(refused("0f8fad5bd-9cb-469f-a165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469fa-165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469f-a16-570867728950e"));
	/* Other separators in their place. */
	CHECK(refused("0f8fad5b_d9cb_469f_a165_70867728950e"));
	CHECK(refused("0f8fad5b:d9cb:469f:a165:70867728950e"));
	/* A hyphen where a digit belongs. */
	CHECK(refused("-f8fad5b-d9cb-469f-a165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469f-a165-7086772895-e"));
}

static void
test_non_hex(void)
{
	CHECK(refused("0f8fad5g-d9cb-469f-a165-70867728950e"));
	CHECK(refused("0f8fad5b-d9cb-469f-a165-70867728950G"));
	CHECK(refused("0f8fad5b-d9cb-469f-a165-70867728950 "));
	CHECK(refused("0f8fad5b-d9cb-469f-a165-7086772895\xc3\xa9"));
	CHECK(refused("zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"));
	CHECK(refused("+f8fad5b-d9cb-469f-a165-70867728950e"));
}

static void
test_other_forms(void)
{
	CHECK(refused("{" LOWER "}"));
	CHECK(refused("{f8fad5b-d9cb-469f-a165-70867728950}"));
	CHECK(refused("0f8fad5bd9cb469fa16570867728950e"));
	CHECK(refused("urn:uuid:" LOWER));
	CHECK(refused(NULL));
}

/* An embedded NUL ends the string: the prefix is then too short. */
static void
test_embedded_nul(void)
{
	static const char in[] = "0f8fad5b-d9cb-469f\0a165-70867728950e";

	CHECK(refused(in));
}

int
main(void)
{
	test_lowercase_kept();
	test_uppercase_lowered();
	test_wrong_length();
	test_trailing_chars();
	test_hyphens();
	test_non_hex();
	test_other_forms();
	test_embedded_nul();
	return check_done("uuid");
}
