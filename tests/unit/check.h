/*
 * A minimal assertion kit for the unit test programs: CHECK records a
 * failure with its line and goes on; check_done() prints the count and
 * gives the exit status that automake's test harness reads.
 */
#ifndef CHAT_CHECK_H
#define CHAT_CHECK_H

#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do {						\
	check_count++;							\
	if (!(cond)) {							\
		check_failures++;					\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #cond);				\
	}								\
} while (0)

static inline int
check_done(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count,
	    check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif
