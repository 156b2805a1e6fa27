/*
 * The answer to one request, built by the router and a handler and written
 * in one place, reply_send(). Handlers set a status and a JSON body, or an
 * error; validation errors accumulate into one 422 list.
 */
#ifndef CHAT_REPLY_H
#define CHAT_REPLY_H

#include <json-c/json.h>

#include "db.h"

struct request;

struct reply {
	int		 status;
	char		*body;		/* JSON text, unless content_type */
	const char	*content_type;	/* NULL: application/json */
	struct json_object *invalid;	/* the 422 "detail" list */
	char		 allow[64];	/* Allow header of a 405 */
	int		 preflight;	/* answer a CORS preflight */
};

void	reply_init(struct reply *rp);
void	reply_free(struct reply *rp);

/* Answers status with a copy of the JSON text json. */
void	reply_json(struct reply *rp, int status, const char *json);
/* Answers status with body, JSON text the reply takes over (frees). */
void	reply_take(struct reply *rp, int status, char *body);
/* Answers status with obj serialized; takes over the reference to obj. */
void	reply_object(struct reply *rp, int status, struct json_object *obj);
/* Answers status with body, text of type content_type (a literal): the
 * reply takes body over. */
void	reply_text(struct reply *rp, int status, const char *content_type,
	    char *body);
/* Answers status with {"detail": detail}. */
void	reply_error(struct reply *rp, int status, const char *detail);
/* Answers 500 {"detail": "Internal Server Error"}: a fault of ours. */
void	reply_internal_error(struct reply *rp);
/* Answers 503 or 500 for a database failure. */
void	reply_db_error(struct reply *rp, enum db_status st);

/*
 * Adds one entry to the 422 list: loc is [where] or [where, name] when name
 * is not NULL.
 */
void	reply_invalid(struct reply *rp, const char *where, const char *name,
	    const char *msg, const char *type);
/* Whether reply_invalid() was called. */
int	reply_has_invalid(const struct reply *rp);

/*
 * The statuses chat-fcgi answers, as the metrics count them: index i of
 * reply_nstatuses() (reply_status_at(i)); reply_status_index() of any
 * other status is reply_nstatuses().
 */
size_t	reply_nstatuses(void);
int	reply_status_at(size_t i);
size_t	reply_status_index(int status);

/* Writes headers and body to the web server. */
void	reply_send(struct reply *rp, const struct request *rq);

#endif
