# shellcheck shell=bash
# lib/stack/push.sh: the push daemons (chat-push), node-1..node-N: start,
# stop, restart on change. Sourced by ./stack.

# Daemon K (1..DAEMONS) is node-K (NODE_PREFIX K: CHAT_NODE_PREFIX gives
# the daemons of each of several hosts on one database ids of their own) on
# port PUSH_PORT + K - 1, with run/push-K.pid and log/push-K.log.
push_node() { printf '%s%s\n' "$NODE_PREFIX" "$1"; }
push_port() { printf '%s\n' $((PUSH_PORT + $1 - 1)); }
push_pidfile() { printf '%s\n' "$RUN_DIR/push-$1.pid"; }
push_log() { printf '%s\n' "$LOG_DIR/push-$1.log"; }

# push_command K: PUSH_CMD = the command line of daemon K.
push_command() {
	PUSH_CMD=("$PUSH_RUN_BIN" -c "$CHAT_CONF" -i "$(push_node "$1")" -p "$(push_port "$1")")
}

# push_pid K: print the pid of daemon K if its pid file names a running
# push daemon of this stack with node id node-K.
push_pid() { pidfile_pid "$(push_pidfile "$1")" "$(push_node "$1")"; }

# push_number ROLE: print K if ROLE (as proc_role names it) is node-K.
push_number() {
	local k=${1#"$NODE_PREFIX"}
	[[ $1 == "$NODE_PREFIX"* && $k =~ ^[0-9]+$ ]] || return 1
	printf '%s\n' $((10#$k))
}

# push_listening PORT PID: PID listens on PORT.
push_listening() {
	ss -Htlnp "sport = :$1" 2>/dev/null | grep -q "pid=$2,"
}

# push_change K PID: print why running daemon K must restart (it does not
# listen, or its command line, environment, program or configuration
# changed), if it must.
push_change() {
	local k=$1 pid=$2 port
	port=$(push_port "$k")
	if ! push_listening "$port" "$pid"; then
		printf 'it does not listen on its port %s\n' "$port"
		return 0
	fi
	push_command "$k"
	cmdline_change "$pid" "${PUSH_CMD[@]}" && return 0
	run_change "$pid" "$(push_pidfile "$k")" "$PUSH_RUN_BIN" "$CHAT_CONF" "$JWT_SECRET"
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
			k=$(push_number "$role") || continue
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

# push_port_free K: fail unless nothing but this stack's own processes
# listens on daemon K's port.
push_port_free() {
	local port who pid hint="choose other ports with --push-port"
	port=$(push_port "$1")
	who=$(ss -Htlnp "sport = :$port" 2>/dev/null) || return 0
	[[ -z $who ]] && return 0
	while read -r pid; do
		proc_role "$pid" ||
			die "port $port (push daemon $(push_node "$1")) is taken: $(grep -o 'users:.*' <<<"$who" | head -n 1); $hint"
	done < <(grep -o 'pid=[0-9]*' <<<"$who" | cut -d= -f2 | sort -u)
	# A listener ss shows no process of (another network namespace?).
	grep -q 'pid=' <<<"$who" || die "port $port (push daemon $(push_node "$1")) is taken; $hint"
}

# start_push K: start daemon K (run_detached); return once it listens.
start_push() {
	local k=$1 port pidfile log
	port=$(push_port "$k")
	pidfile=$(push_pidfile "$k")
	log=$(push_log "$k")
	push_port_free "$k"
	push_command "$k"
	note "starting push daemon $(push_node "$k") on $PUSH_HOST:$port"
	run_detached "$pidfile" "$log" "${PUSH_CMD[@]}"
	wait_ready "push daemon $(push_node "$k")" "$pidfile" "$log" "does not listen on $PUSH_HOST:$port" \
		push_listening "$port"
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
				note "push daemon $(push_node "$k") already running (pid $pid, port $(push_port "$k"))"
				continue
			fi
			note "push daemon $(push_node "$k"): $why: restarting it"
		fi
		stop_push_daemons "$k" "$k" # also one without a valid pid file
		start_push "$k"
	done
}
