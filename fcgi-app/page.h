/*
 * Every Message chat-fcgi answers: history and search pages, and the one
 * message of a send or a mark read. Their rows (message_page_row) come
 * from the SQL functions of sql/functions/ in binary, and their JSON is
 * written here, in one pass: building it in SQL cost twenty times the
 * selecting of the rows (docs/PERFORMANCE.md).
 */
#ifndef CHAT_PAGE_H
#define CHAT_PAGE_H

#include "db.h"
#include "reply.h"
#include "request.h"

/*
 * Runs stmt (DB_BINARY, selecting message_page_row rows, reading only)
 * with params, on the replica when one serves (replica.h), and answers
 * the page, or the error the header row states. skip and limit are the
 * page's, as decimal text.
 */
void	page_call(struct request *rq, struct reply *rp, struct db_stmt *stmt,
	    const char *const *params, const char *skip, const char *limit);

/*
 * Answers the row of message_answer (sql/functions/messages.sql) in res:
 * the Message with the row's status, or the refusal it states. Returns
 * the events the call recorded.
 */
int	page_message_answer(struct reply *rp, const PGresult *res);

#endif
