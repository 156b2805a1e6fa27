# shellcheck shell=bash
# lib/stack/fcgi-pool.sh: chat-fcgi on its own, supervising its workers,
# behind nginx and Apache. Sourced by ./stack.

# Behind nginx and Apache, ./stack runs `chat-fcgi -s SOCKET -w N`: it
# opens the socket (mode 0660, user chat) and supervises N workers,
# restarting any that dies; SIGTERM stops them all. Its pid is in
# run/chat-fcgi.pid, its and its workers' stderr in log/chat-fcgi.log.

# fcgi_pool_command: FCGI_CMD = its command line.
fcgi_pool_command() {
	FCGI_CMD=("$FCGI_RUN_BIN" -c "$CHAT_CONF" -s "$FCGI_SOCKET" -w "$FCGI_PROCS")
}

# fcgi_pool_pid: print the pid of the supervising chat-fcgi if its pid file
# names a running one of this stack.
fcgi_pool_pid() { pidfile_pid "$FCGI_PIDFILE" fastcgi-pool; }

# fcgi_pool_change PID: print why the running chat-fcgi must restart (its
# command line, environment, program or configuration changed, or its
# socket is gone), if it must.
fcgi_pool_change() {
	local pid=$1
	fcgi_pool_command
	cmdline_change "$pid" "${FCGI_CMD[@]}" && return 0
	if [[ ! -S $FCGI_SOCKET ]]; then
		printf 'its socket %s is gone\n' "$FCGI_SOCKET"
		return 0
	fi
	run_change "$pid" "$FCGI_PIDFILE" "$FCGI_RUN_BIN" "$CHAT_CONF" "$JWT_SECRET"
}

# fcgi_pool_listening [PID]: chat-fcgi's socket exists.
fcgi_pool_listening() { [[ -S $FCGI_SOCKET ]]; }

# start_fcgi_pool: start chat-fcgi (run_detached); return once its socket
# exists.
start_fcgi_pool() {
	fcgi_pool_command
	note "starting chat-fcgi with $FCGI_PROCS workers on $FCGI_SOCKET"
	rm -f "$FCGI_SOCKET"
	run_detached "$FCGI_PIDFILE" "$FCGI_LOG" "${FCGI_CMD[@]}"
	wait_ready chat-fcgi "$FCGI_PIDFILE" "$FCGI_LOG" "opened no socket $FCGI_SOCKET" \
		fcgi_pool_listening
}

# stop_fcgi_pool: SIGTERM to the supervisor, which stops its workers and
# waits for them; then whatever chat-fcgi -s of this stack is left (the
# workers of a supervisor killed with -9, say).
stop_fcgi_pool() {
	local pid
	local -a pids
	if pid=$(fcgi_pool_pid); then
		note "stopping chat-fcgi (pid $pid) and its workers"
		stop_pids "chat-fcgi" 20 "$pid"
	fi
	rm -f "$FCGI_PIDFILE"
	mapfile -t pids < <(fcgi_pids fastcgi-pool)
	if ((${#pids[@]})); then
		note "stopping leftover chat-fcgi processes: ${pids[*]}"
		stop_pids "chat-fcgi processes" 20 "${pids[@]}"
	fi
}

# ensure_fcgi_pool: chat-fcgi running this stack's program and
# configuration; restarted when they changed.
ensure_fcgi_pool() {
	local pid why
	if pid=$(fcgi_pool_pid); then
		why=$(fcgi_pool_change "$pid")
		if [[ -z $why ]]; then
			note "chat-fcgi already running (pid $pid, $FCGI_PROCS workers on $FCGI_SOCKET)"
			return 0
		fi
		note "chat-fcgi: $why: restarting it"
	fi
	stop_fcgi_pool # also the processes of one without a valid pid file
	start_fcgi_pool
}
