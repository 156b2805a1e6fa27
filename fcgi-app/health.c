#include <libpq-fe.h>

#include "app.h"
#include "detail.h"
#include "health.h"

static struct db_stmt health_stmt = DB_STMT("health", 0, "SELECT 1");

void
health_get(struct request *rq, struct reply *rp)
{
	PGresult *res;
	enum db_status st;

	st = db_run(&rq->app->db, &health_stmt, NULL, &res);
	PQclear(res);
	if (st == DB_OK)
		reply_json(rp, 200, "{\"status\": \"ok\", \"database\": \"ok\"}");
	else
		reply_json(rp, 503, "{\"status\": \"unavailable\", "
		    "\"database\": \"unreachable\", "
		    "\"detail\": \"" DETAIL_DB_UNAVAILABLE "\"}");
}
