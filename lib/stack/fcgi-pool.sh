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
fcgi_pool_pid() {
	local pid
	[[ -s $FCGI_PIDFILE ]] || return 1
	pid=$(<"$FCGI_PIDFILE")
	[[ $pid =~ ^[0-9]+$ ]] && proc_role "$pid" && [[ $ROLE == fastcgi-pool ]] || return 1
	printf '%s\n' "$pid"
}

# fcgi_pool_change PID: print why the running chat-fcgi must restart (its
# command line, environment, program or configuration changed, or its
# socket is gone), if it must.
fcgi_pool_change() {
	local pid=$1 file has_asan=0
	local -a args
	fcgi_pool_command
	mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || true
	if [[ ${args[*]} != "${FCGI_CMD[*]}" ]]; then
		printf 'its command line changed (was: %s)\n' "${args[*]}"
		return
	fi
	if [[ ! -S $FCGI_SOCKET ]]; then
		printf 'its socket %s is gone\n' "$FCGI_SOCKET"
		return
	fi
	grep -qz '^ASAN_OPTIONS=' "/proc/$pid/environ" 2>/dev/null && has_asan=1
	if ((has_asan != SANITIZE)); then
		printf 'the sanitizer settings changed\n'
		return
	fi
	for file in "$FCGI_RUN_BIN" "$CHAT_CONF" "$JWT_SECRET"; do
		if [[ $file -nt $FCGI_PIDFILE ]]; then
			printf '%s changed\n' "$file"
			return
		fi
	done
}

# start_fcgi_pool: start chat-fcgi as chat in its own session, with a clean
# environment (plus the sanitizer settings with --sanitize), output appended
# to its log; return once its socket exists.
start_fcgi_pool() {
	local -a env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
	((SANITIZE)) && env+=("ASAN_OPTIONS=$ASAN_OPTS" "UBSAN_OPTIONS=$UBSAN_OPTS")
	fcgi_pool_command
	note "starting chat-fcgi with $FCGI_PROCS workers on $FCGI_SOCKET"
	rm -f "$FCGI_PIDFILE" "$FCGI_SOCKET"
	[[ -e $FCGI_LOG ]] || install -m 644 -o "$RUN_USER" -g "$RUN_USER" /dev/null "$FCGI_LOG"
	printf '%s ./stack: starting %s\n' "$(date -u +%FT%TZ)" "${FCGI_CMD[*]}" >>"$FCGI_LOG"
	# The shell writes its pid as chat, then becomes chat-fcgi.
	# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
	(cd / && exec setsid env -i "${env[@]}" \
		setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups -- \
		sh -c 'echo "$$" >"$0" && exec "$@"' "$FCGI_PIDFILE" "${FCGI_CMD[@]}") \
		</dev/null >>"$FCGI_LOG" 2>&1 &
	wait_fcgi_pool
}

# wait_fcgi_pool: wait until chat-fcgi listens on its socket.
wait_fcgi_pool() {
	local pid='' i
	for ((i = 0; i < HEALTH_TIMEOUT * 10; i++)); do
		if [[ -z $pid ]]; then
			pid=$(cat "$FCGI_PIDFILE" 2>/dev/null) || pid=''
			[[ $pid =~ ^[0-9]+$ ]] || pid=''
		elif ! alive "$pid"; then
			show_log_tail "$FCGI_LOG"
			die "chat-fcgi (pid $pid) exited at start (see $FCGI_LOG)"
		elif [[ -S $FCGI_SOCKET ]]; then
			return 0
		fi
		sleep 0.1
	done
	show_log_tail "$FCGI_LOG"
	die "chat-fcgi opened no socket $FCGI_SOCKET after ${HEALTH_TIMEOUT}s (pid ${pid:-unknown}; see $FCGI_LOG)"
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
