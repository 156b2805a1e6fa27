/*
 * calibrate: what a system call and a wake-up cost on this machine, for
 * bench/run's record of the machine (calibration in every result).
 *
 *   calibrate
 *
 * Every request of the chat service crosses several processes (load
 * generator, web server, FastCGI, PostgreSQL, push daemon), each a few
 * system calls and a sleep and a wake-up. Machines of the same kind have
 * differed several times over in exactly that (a virtual machine's system
 * call goes through its hypervisor), and the benchmarks' figures with
 * them, so each run says what it ran on. Prints one JSON object:
 * syscall_ns, the time of a trivial system call (getppid), and
 * pipe_round_trip_us, a byte sent to a second process and back through two
 * pipes (two sleeps and two wake-ups).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CALIBRATE_SYSCALLS	1000000
#define CALIBRATE_ROUND_TRIPS	50000

static double
calibrate_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seconds per trivial system call. */
static double
calibrate_syscall(void)
{
	double start = calibrate_now();
	int i;

	for (i = 0; i < CALIBRATE_SYSCALLS; i++)
		syscall(SYS_getppid);
	return (calibrate_now() - start) / CALIBRATE_SYSCALLS;
}

/* Seconds per round trip of one byte to a child process and back. */
static double
calibrate_round_trip(void)
{
	int there[2], back[2], i;
	double start, elapsed;
	pid_t child;
	char c = 0;

	if (pipe(there) == -1 || pipe(back) == -1)
		err(1, "pipe");
	if ((child = fork()) == -1)
		err(1, "fork");
	if (child == 0) {
		close(there[1]);
		close(back[0]);
		while (read(there[0], &c, 1) == 1 && write(back[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(there[0]);
	close(back[1]);
	start = calibrate_now();
	for (i = 0; i < CALIBRATE_ROUND_TRIPS; i++)
		if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1)
			err(1, "pipe round trip");
	elapsed = calibrate_now() - start;
	close(there[1]);	/* the child reads EOF and leaves */
	close(back[0]);
	waitpid(child, NULL, 0);
	return elapsed / CALIBRATE_ROUND_TRIPS;
}

int
main(void)
{
	double sys = calibrate_syscall(), trip = calibrate_round_trip();

	printf("{\"syscall_ns\": %.0f, \"pipe_round_trip_us\": %.1f}\n",
	    sys * 1e9, trip * 1e6);
	return 0;
}
