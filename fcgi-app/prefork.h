/*
 * A small supervisor for running chat-fcgi without a spawner: the parent
 * forks the worker processes that share the listening socket, replaces any
 * that dies, and stops them all on SIGTERM. (lighttpd spawns and respawns
 * the workers itself; Apache and nginx do not.)
 */
#ifndef CHAT_PREFORK_H
#define CHAT_PREFORK_H

/*
 * Returns 1 in each worker, which then serves requests; returns 0 in the
 * parent once SIGTERM or SIGINT has stopped every worker.
 */
int	prefork_run(int workers);

#endif
