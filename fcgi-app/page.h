/*
 * History and search pages. Their rows come from api_history_page and
 * api_search_page (sql/functions/) in binary, and their JSON is written here, in
 * one pass: building it in SQL cost twenty times the selecting of the rows
 * (docs/PERFORMANCE.md).
 */
#ifndef CHAT_PAGE_H
#define CHAT_PAGE_H

#include "db.h"
#include "reply.h"
#include "request.h"

/*
 * Runs stmt (DB_BINARY, selecting message_page_row rows) with params
 * and answers the page, or the error the header row states. skip and
 * limit are the page's, as decimal text.
 */
void	page_call(struct request *rq, struct reply *rp, struct db_stmt *stmt,
	    const char *const *params, const char *skip, const char *limit);

#endif
