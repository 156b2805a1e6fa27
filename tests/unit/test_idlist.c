/* Unit tests of push-daemon/idlist.c: the uuid[] literal builder. */
#include <string.h>

#include "check.h"
#include "idlist.h"

#define A	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"

static void
test_empty(void)
{
	struct idlist l = IDLIST_EMPTY;

	CHECK(idlist_text(&l) == NULL);
	idlist_free(&l);
}

static void
test_literal(void)
{
	struct idlist l = IDLIST_EMPTY;

	CHECK(idlist_add(&l, A) == 0);
	CHECK(strcmp(idlist_text(&l), "{" A "}") == 0);
	CHECK(idlist_add(&l, B) == 0);
	CHECK(strcmp(idlist_text(&l), "{" A "," B "}") == 0);
	CHECK(l.n == 2);
	idlist_free(&l);
}

static void
test_clear_reuses(void)
{
	struct idlist l = IDLIST_EMPTY;

	for (int i = 0; i < 1000; i++)
		CHECK(idlist_add(&l, i % 2 ? A : B) == 0);
	CHECK(strlen(idlist_text(&l)) == 1000 * 37 + 1);
	idlist_clear(&l);
	CHECK(idlist_text(&l) == NULL);
	CHECK(idlist_add(&l, B) == 0);
	CHECK(strcmp(idlist_text(&l), "{" B "}") == 0);
	idlist_free(&l);
}

int
main(void)
{
	test_empty();
	test_literal();
	test_clear_reuses();
	return check_done("test_idlist");
}
