# shellcheck shell=bash
# lib/stack/processes.sh: finding this stack's processes by their command
# line, starting the ones ./stack runs itself, telling why one must
# restart, and stopping processes. Sourced by ./stack.

# alive PID: the process exists and is no zombie.
alive() {
	local state
	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
	[[ $state != Z ]]
}

# children_of PID: the pids of PID's child processes.
children_of() {
	local dir stat ppid
	for dir in /proc/[0-9]*; do
		{ stat=$(<"$dir/stat"); } 2>/dev/null || continue
		read -r _ ppid _ <<<"${stat##*) }"
		[[ $ppid == "$1" ]] && printf '%s\n' "${dir#/proc/}"
	done
	return 0
}

# stack_procs: "PID ROLE" for each process of this stack given "-c" and its
# chat.conf: ROLE is the node id of a push daemon ("-c CONF -i NODE ..."),
# "fastcgi-pool" for chat-fcgi running on its own ("-s SOCKET": the
# supervisor and its workers, behind nginx or Apache), "fastcgi" for those
# lighttpd spawns. Found whatever pid files say, so that FastCGI processes
# a dead lighttpd or supervisor left behind, or a daemon whose pid file is
# gone, are found too.
stack_procs() {
	local dir
	for dir in /proc/[0-9]*; do
		proc_role "${dir#/proc/}" && printf '%s %s\n' "${dir#/proc/}" "$ROLE"
	done
	return 0
}

# proc_role PID: set ROLE as stack_procs names it; fail when PID is no
# running process of this stack (a -n configuration check is none).
proc_role() {
	local i
	local -a args
	ROLE=''
	mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || return 1
	for ((i = 1; i < ${#args[@]}; i++)); do
		[[ ${args[i]} == "$CHAT_CONF" && ${args[i - 1]} == -c ]] || continue
		((i < 2)) || [[ ${args[i - 2]} != -n ]] || return 1
		alive "$1" || return 1
		if [[ ${args[i + 1]:-} == -i && -n ${args[i + 2]:-} ]]; then
			ROLE=${args[i + 2]}
		elif [[ ${args[i + 1]:-} == -s ]]; then
			ROLE=fastcgi-pool
		else
			ROLE=fastcgi
		fi
		return 0
	done
	return 1
}

# fcgi_pids ROLE: the FastCGI processes of this stack in ROLE (fastcgi or
# fastcgi-pool).
fcgi_pids() { stack_procs | awk -v role="$1" '$2 == role { print $1 }'; }

# wait_gone SECONDS PID...: 0 once none of the processes is left.
wait_gone() {
	local seconds=$1 i pid left
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		left=0
		for pid; do
			alive "$pid" && left=1
		done
		((left)) || return 0
		sleep 0.1
	done
	return 1
}

# stop_pids WHAT SECONDS PID...: SIGTERM; SIGKILL, saying so, for those
# still there after SECONDS.
stop_pids() {
	local what=$1 seconds=$2 pid
	local -a left=() names=()
	shift 2
	kill -TERM "$@" 2>/dev/null || true
	wait_gone "$seconds" "$@" && return 0
	for pid; do
		alive "$pid" || continue
		left+=("$pid")
		if proc_role "$pid"; then names+=("$ROLE (pid $pid)"); else names+=("pid $pid"); fi
	done
	warn "$what still running ${seconds}s after SIGTERM: sending SIGKILL to ${names[*]}"
	kill -KILL "${left[@]}" 2>/dev/null || true
	wait_gone 5 "${left[@]}" || warn "$what survived SIGKILL: ${names[*]}"
}

# pidfile_pid FILE ROLE: print the pid FILE names if it is a running
# process of this stack in ROLE (as proc_role names it).
pidfile_pid() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && proc_role "$pid" && [[ $ROLE == "$2" ]] || return 1
	printf '%s\n' "$pid"
}

# run_detached PIDFILE LOG CMD...: start CMD as chat in its own session,
# with a clean environment (plus the sanitizer settings with --sanitize),
# its pid in PIDFILE and its output appended to LOG; return at once.
run_detached() {
	local pidfile=$1 log=$2
	local -a env=("${CLEAN_ENV[@]}")
	shift 2
	((SANITIZE)) && env+=("ASAN_OPTIONS=$ASAN_OPTS" "UBSAN_OPTIONS=$UBSAN_OPTS")
	rm -f "$pidfile"
	[[ -e $log ]] || install -m 644 -o "$RUN_USER" -g "$RUN_USER" /dev/null "$log"
	printf '%s ./stack: starting %s\n' "$(date -u +%FT%TZ)" "$*" >>"$log"
	# The shell writes its pid as chat, then becomes CMD.
	# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
	(cd / && exec setsid env -i "${env[@]}" \
		setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups -- \
		sh -c 'echo "$$" >"$0" && exec "$@"' "$pidfile" "$@") \
		</dev/null >>"$log" 2>&1 &
}

# wait_ready WHAT PIDFILE LOG NOT_READY CHECK...: wait until the process
# run_detached started passes CHECK (called with its pid as last argument);
# die, with the end of LOG, if it exits first or is not ready after
# HEALTH_TIMEOUT s ("WHAT NOT_READY after N s").
wait_ready() {
	local what=$1 pidfile=$2 log=$3 not_ready=$4 pid='' i
	shift 4
	for ((i = 0; i < HEALTH_TIMEOUT * 10; i++)); do
		if [[ -z $pid ]]; then
			pid=$(cat "$pidfile" 2>/dev/null) || pid=''
			[[ $pid =~ ^[0-9]+$ ]] || pid=''
		elif ! alive "$pid"; then
			show_log_tail "$log"
			die "$what (pid $pid) exited at start (see $log)"
		elif "$@" "$pid"; then
			return 0
		fi
		sleep 0.1
	done
	show_log_tail "$log"
	die "$what $not_ready after ${HEALTH_TIMEOUT}s (pid ${pid:-unknown}; see $log)"
}

# cmdline_change PID CMD...: print why PID must restart if its command line
# is not CMD (and succeed; fail when it is).
cmdline_change() {
	local pid=$1
	local -a args
	shift
	mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || true
	[[ ${args[*]} != "$*" ]] || return 1
	printf 'its command line changed (was: %s)\n' "${args[*]}"
}

# run_change PID PIDFILE FILE...: print why PID must restart if it runs
# without the sanitizer settings of this run (or with them when it should
# not), or a FILE changed since PIDFILE was written.
run_change() {
	local pid=$1 pidfile=$2 file has_asan=0
	shift 2
	grep -qz '^ASAN_OPTIONS=' "/proc/$pid/environ" 2>/dev/null && has_asan=1
	if ((has_asan != SANITIZE)); then
		printf 'the sanitizer settings changed\n'
		return 0
	fi
	for file; do
		if [[ $file -nt $pidfile ]]; then
			printf '%s changed\n' "$file"
			return 0
		fi
	done
	return 0
}
