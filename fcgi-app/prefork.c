#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "prefork.h"

#define PREFORK_MAX		256
/* A worker that dies sooner than this after its start is restarted only
 * after this long, so that a crash loop does not spin. */
#define PREFORK_RESTART_SECS	1

static volatile sig_atomic_t prefork_stopping;

static void
prefork_on_signal(int sig)
{
	(void)sig;
	prefork_stopping = 1;
}

/* Forks one worker; returns its pid in the parent and 0 in the worker. */
static pid_t
prefork_spawn(void)
{
	pid_t pid = fork();

	if (pid == -1)
		log_warn("fork");
	else if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
	}
	return pid;
}

static void
prefork_stop_all(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	for (int i = 0; i < n; i++)
		if (pids[i] > 0)
			waitpid(pids[i], NULL, 0);
}

int
prefork_run(int workers)
{
	pid_t pids[PREFORK_MAX] = { 0 };
	time_t started[PREFORK_MAX] = { 0 };
	struct sigaction sa;
	int status;

	if (workers < 1 || workers > PREFORK_MAX)
		fatalx("workers: from 1 to %d", PREFORK_MAX);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = prefork_on_signal;	/* no SA_RESTART: end waitpid */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);	/* as the workers (main.c) */

	while (!prefork_stopping) {
		pid_t pid;

		for (int i = 0; i < workers && !prefork_stopping; i++) {
			if (pids[i] > 0)
				continue;
			if (started[i] != 0 &&
			    time(NULL) - started[i] < PREFORK_RESTART_SECS)
				sleep(PREFORK_RESTART_SECS);
			if ((pid = prefork_spawn()) == 0)
				return 1;
			pids[i] = pid;
			started[i] = time(NULL);
		}
		pid = waitpid(-1, &status, 0);
		if (pid == -1) {
			if (errno != EINTR)
				sleep(1);
			continue;
		}
		for (int i = 0; i < workers; i++) {
			if (pids[i] != pid)
				continue;
			pids[i] = 0;
			if (!prefork_stopping)
				log_warnx("worker %d exited (status %d), "
				    "starting another", (int)pid, status);
		}
	}
	prefork_stop_all(pids, workers);
	log_info("all workers stopped");
	return 0;
}
