# shellcheck shell=bash
# lib/stack/push.sh: the push daemons (chat-push), node-1..node-N: start,
# stop, restart on change. Sourced by ./stack.

# Daemon K (1..DAEMONS) is node-K on port PUSH_PORT + K - 1, with
# run/push-K.pid and log/push-K.log.
push_port() { printf '%s\n' $((PUSH_PORT + $1 - 1)); }

# push_command K: PUSH_CMD = the command line of daemon K.
push_command() {
	PUSH_CMD=("$PUSH_RUN_BIN" -c "$CHAT_CONF" -i "node-$1" -p "$(push_port "$1")")
}

# push_pid K: print the pid of daemon K if its pid file names a running
# push daemon of this stack with node id node-K.
push_pid() {
	local file=$RUN_DIR/push-$1.pid pid
	[[ -s $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] && proc_role "$pid" && [[ $ROLE == "node-$1" ]] || return 1
	printf '%s\n' "$pid"
}

# push_listening PID PORT: PID listens on PORT.
push_listening() {
	ss -Htlnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"
}

# push_change DAEMON PID: print why running daemon K must restart (its
# command line, environment, program or configuration changed), if it must.
push_change() {
	local k=$1 pid=$2 file has_asan=0
	local -a args
	if ! push_listening "$pid" "$(push_port "$k")"; then
		printf 'it does not listen on its port %s\n' "$(push_port "$k")"
		return
	fi
	push_command "$k"
	mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || true
	if [[ ${args[*]} != "${PUSH_CMD[*]}" ]]; then
		printf 'its command line changed (was: %s)\n' "${args[*]}"
		return
	fi
	grep -qz '^ASAN_OPTIONS=' "/proc/$pid/environ" 2>/dev/null && has_asan=1
	if ((has_asan != SANITIZE)); then
		printf 'the sanitizer settings changed\n'
		return
	fi
	for file in "$PUSH_RUN_BIN" "$CHAT_CONF" "$JWT_SECRET"; do
		if [[ $file -nt $RUN_DIR/push-$k.pid ]]; then
			printf '%s changed\n' "$file"
			return
		fi
	done
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

# stop_push_daemons [FIRST [LAST]]: stop daemons node-FIRST..node-LAST of
# this stack (found by their command line, whatever the pid files say) and
# remove their pid files; without arguments, every push daemon of this
# stack, whatever its node id.
stop_push_daemons() {
	local first=${1:-1} last=${2:-} pid role k file
	local -a pids=() names=()
	while read -r pid role; do
		[[ $role == fastcgi* ]] && continue
		if (($#)); then
			[[ $role =~ ^node-([0-9]+)$ ]] || continue
			k=$((10#${BASH_REMATCH[1]}))
			((k >= first)) || continue
			[[ -z $last ]] || ((k <= last)) || continue
		fi
		pids+=("$pid")
		names+=("$role (pid $pid)")
	done < <(stack_procs)
	if ((${#pids[@]})); then
		note "stopping push daemon(s): ${names[*]}"
		stop_pids "push daemon(s)" "$PUSH_STOP_TIMEOUT" "${pids[@]}"
	fi
	for file in "$RUN_DIR"/push-*.pid; do
		[[ -e $file && $file =~ /push-([0-9]+)\.pid$ ]] || continue
		k=$((10#${BASH_REMATCH[1]}))
		((k >= first)) && { [[ -z $last ]] || ((k <= last)); } && rm -f "$file"
	done
	return 0
}

# port_free_for PORT WHAT HINT: fail unless nothing but this stack's own
# processes listens on PORT.
port_free_for() {
	local port=$1 what=$2 hint=$3 who pid
	who=$(ss -Htlnp "sport = :$port" 2>/dev/null) || return 0
	[[ -z $who ]] && return 0
	while read -r pid; do
		proc_role "$pid" ||
			die "port $port ($what) is taken: $(grep -o 'users:.*' <<<"$who" | head -n 1); $hint"
	done < <(grep -o 'pid=[0-9]*' <<<"$who" | cut -d= -f2 | sort -u)
	# A listener ss shows no process of (another network namespace?).
	grep -q 'pid=' <<<"$who" || die "port $port ($what) is taken; $hint"
}

# start_push K: start daemon K as chat in its own session, with a clean
# environment (plus the sanitizer settings with --sanitize), output
# appended to its log; return once it listens.
start_push() {
	local k=$1 port pidfile=$RUN_DIR/push-$1.pid log=$LOG_DIR/push-$1.log
	local -a env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
	port=$(push_port "$k")
	port_free_for "$port" "push daemon node-$k" "choose other ports with --push-port"
	((SANITIZE)) && env+=("ASAN_OPTIONS=$ASAN_OPTS" "UBSAN_OPTIONS=$UBSAN_OPTS")
	push_command "$k"
	note "starting push daemon node-$k on $PUSH_HOST:$port"
	rm -f "$pidfile"
	[[ -e $log ]] || install -m 644 -o "$RUN_USER" -g "$RUN_USER" /dev/null "$log"
	printf '%s ./stack: starting %s\n' "$(date -u +%FT%TZ)" "${PUSH_CMD[*]}" >>"$log"
	# The shell writes its pid as chat, then becomes the daemon.
	# shellcheck disable=SC2016 # $$, $0 and $@ are the inner shell's
	(cd / && exec setsid env -i "${env[@]}" \
		setpriv --reuid="$RUN_USER" --regid="$RUN_USER" --init-groups -- \
		sh -c 'echo "$$" >"$0" && exec "$@"' "$pidfile" "${PUSH_CMD[@]}") \
		</dev/null >>"$log" 2>&1 &
	wait_push_listening "$k"
}

# wait_push_listening K: wait until daemon K accepts connections on its port.
wait_push_listening() {
	local k=$1 port pid='' i log=$LOG_DIR/push-$1.log
	port=$(push_port "$k")
	for ((i = 0; i < HEALTH_TIMEOUT * 10; i++)); do
		if [[ -z $pid ]]; then
			pid=$(cat "$RUN_DIR/push-$k.pid" 2>/dev/null) || pid=''
			[[ $pid =~ ^[0-9]+$ ]] || pid=''
		elif ! alive "$pid"; then
			show_log_tail "$log"
			die "push daemon node-$k (pid $pid) exited at start (see $log)"
		elif push_listening "$pid" "$port"; then
			return 0
		fi
		sleep 0.1
	done
	show_log_tail "$log"
	die "push daemon node-$k does not listen on $PUSH_HOST:$port after ${HEALTH_TIMEOUT}s (pid ${pid:-unknown}; see $log)"
}

# ensure_push_daemons: node-1..node-N running this stack's program and
# configuration (those that changed are restarted), the others stopped.
ensure_push_daemons() {
	local k pid why
	stop_push_daemons $((DAEMONS + 1))
	for ((k = 1; k <= DAEMONS; k++)); do
		if pid=$(push_pid "$k"); then
			why=$(push_change "$k" "$pid")
			if [[ -z $why ]]; then
				note "push daemon node-$k already running (pid $pid, port $(push_port "$k"))"
				continue
			fi
			note "push daemon node-$k: $why: restarting it"
		fi
		stop_push_daemons "$k" "$k" # also one without a valid pid file
		start_push "$k"
	done
}
