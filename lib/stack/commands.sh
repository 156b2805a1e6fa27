# shellcheck shell=bash
# lib/stack/commands.sh: the commands up, down, status, daemon-restart,
# build and migrate, and the health check they share. Sourced by ./stack.

# ---------------------------------------------------------------- health

# check_health: GET /api/v1/health; sets HEALTH_CODE (000 when no answer)
# and HEALTH_BODY.
check_health() {
	local out
	out=$(curl -sS --noproxy '*' --max-time 3 -w '\n%{http_code}' \
		"$URL/api/v1/health" 2>/dev/null) || true
	HEALTH_CODE=${out##*$'\n'}
	HEALTH_BODY=${out%$'\n'*}
	[[ $out == *$'\n'* && $HEALTH_CODE =~ ^[0-9]{3}$ ]] || HEALTH_CODE=000 HEALTH_BODY=''
	HEALTH_BODY=${HEALTH_BODY:0:300}
}

wait_healthy() {
	local deadline=$((SECONDS + HEALTH_TIMEOUT))
	while :; do
		check_health
		[[ $HEALTH_CODE == 200 ]] && return 0
		if ((SECONDS >= deadline)); then
			show_log_tail "$(web_log "$SERVER")"
			show_log_tail "$FCGI_LOG" 15
			show_log_tail "$PG_LOG" 15
			show_sanitizer_logs >&2 || true
			die "no 200 from $URL/api/v1/health within ${HEALTH_TIMEOUT}s (last answer: $HEALTH_CODE $HEALTH_BODY)"
		fi
		sleep 0.3
	done
}

# show_sanitizer_logs: print every ASan/UBSan report of this stack; returns
# the number of reports.
show_sanitizer_logs() {
	local f n=0
	for f in "$LOG_DIR"/asan* "$LOG_DIR"/ubsan*; do
		[[ -s $f ]] || continue
		n=$((n + 1))
		printf '==== sanitizer report %s ====\n' "$f"
		head -n 200 "$f"
	done
	return "$n"
}

# ---------------------------------------------------------------- commands

# check_port_free: fail early, and clearly, when another program listens on
# the port this stack's web server or one of its push daemons would take.
check_port_free() {
	local who k name ours=0
	for name in "${WEB_SERVERS[@]}"; do
		web_pid "$name" >/dev/null && ours=1
	done
	if ((!ours)); then
		who=$(ss -Htlnp "sport = :$PORT" 2>/dev/null) || who=''
		[[ -z $who ]] ||
			die "port $PORT is taken: $(grep -o 'users:.*' <<<"$who" | head -n 1); choose another with --port"
	fi
	for ((k = 1; k <= DAEMONS; k++)); do
		push_port_free "$k"
	done
}

cmd_up() {
	require_root
	check_port_free
	local -a extra=()
	((PGBOUNCER_ON)) && extra+=("$PGBOUNCER_PACKAGE")
	install_missing_packages "$(server_package "$SERVER")" "${extra[@]}"
	select_fcgi_bin
	select_push_bin
	ensure_user
	prepare_dirs
	FCGI_RUN_BIN=$(reachable_for_chat "$FCGI_BIN" "$STACK_DIR/bin/chat-fcgi")
	PUSH_RUN_BIN=$(reachable_for_chat "$PUSH_BIN" "$STACK_DIR/bin/chat-push")
	save_settings

	# With CHAT_DB_HOST the database is another host's, which runs the
	# cluster and the migrations.
	if [[ -z $DB_HOST ]]; then
		ensure_cluster
		start_postgres
		ensure_database
		run_migrations
	fi
	ensure_jwt_secret
	write_chat_conf
	check_chat_conf "$FCGI_RUN_BIN"
	check_chat_conf "$PUSH_RUN_BIN"
	if ((REPLICA_ON)); then ensure_replica; else stop_replica; fi
	if ((PGBOUNCER_ON)); then ensure_pgbouncer; else stop_pgbouncer; fi
	ensure_push_daemons
	web_build
	install_web_files

	# Another web server of this stack (an earlier --server) gives the port
	# up first; lighttpd runs the FastCGI processes itself.
	stop_web_servers "$SERVER"
	if [[ $SERVER == lighttpd ]]; then
		stop_fcgi_pool
	else
		ensure_fcgi_pool
	fi
	ensure_web_server
	wait_healthy
	printf 'chat service up at %s (%s)\n' "$URL" "$SERVER"
	local k daemons=''
	for ((k = 1; k <= DAEMONS; k++)); do
		daemons+="${daemons:+, }$(push_node "$k") at $PUSH_HOST:$(push_port "$k")"
	done
	printf 'WebSocket at %s, proxied to %s\n' "$WS_URL" "$daemons"
}

cmd_down() {
	require_root
	if [[ ! -d $STACK_DIR ]]; then
		note "nothing to stop: no $STACK_DIR"
		return 0
	fi
	stop_push_daemons
	stop_web_servers
	stop_fcgi_pool
	stop_pgbouncer
	stop_replica
	stop_postgres
	note "chat service stopped"
}

cmd_status() {
	require_root
	local ok=1 pid pids
	if [[ -n $DB_HOST ]]; then
		printf 'postgresql: on %s (CHAT_DB_HOST)\n' "$DB_HOST"
	elif pg_running; then
		printf 'postgresql: running (pid %s, socket in %s)\n' "$(pg_pid)" "$RUN_DIR"
	else
		printf 'postgresql: stopped\n'
		ok=0
	fi
	if ((REPLICA_ON)); then status_replica || ok=0; fi
	if ((PGBOUNCER_ON)); then status_pgbouncer || ok=0; fi
	status_web_servers || ok=0
	status_fastcgi || ok=0
	status_push_daemons || ok=0
	check_health
	if [[ $HEALTH_CODE == 200 ]]; then
		printf 'health:     ok (200 %s) at %s/api/v1/health\n' "$HEALTH_BODY" "$URL"
	elif [[ $HEALTH_CODE == 000 ]]; then
		printf 'health:     no answer from %s/api/v1/health\n' "$URL"
		ok=0
	else
		printf 'health:     failing (%s %s) at %s/api/v1/health\n' "$HEALTH_CODE" "$HEALTH_BODY" "$URL"
		ok=0
	fi
	((ok)) && return 0
	return 3
}

# status_web_servers: a line for the web server of --server, and one for
# any other web server of this stack that runs; fail unless the first runs.
status_web_servers() {
	local rc=0 name pid
	if pid=$(web_pid "$SERVER"); then
		printf '%-11s running (pid %s) at %s\n' "$SERVER:" "$pid" "$URL"
	else
		printf '%-11s stopped\n' "$SERVER:"
		rc=1
	fi
	for name in "${WEB_SERVERS[@]}"; do
		[[ $name != "$SERVER" ]] || continue
		pid=$(web_pid "$name") || continue
		printf '%-11s running (pid %s) but the stack is set up for %s; ./stack up or down stops it\n' \
			"$name:" "$pid" "$SERVER"
	done
	return "$rc"
}

# status_fastcgi: the FastCGI processes, lighttpd's or chat-fcgi's own;
# fail when there are none.
status_fastcgi() {
	local pid pids
	if [[ $SERVER == lighttpd ]]; then
		pids=$(fcgi_pids fastcgi | tr '\n' ' ')
		if [[ -z $pids ]]; then
			printf 'fastcgi:    stopped\n'
			return 1
		fi
		printf 'fastcgi:    %s running (pids %s), spawned by lighttpd\n' "$(wc -w <<<"$pids")" "${pids% }"
		return 0
	fi
	if ! pid=$(fcgi_pool_pid); then
		printf 'fastcgi:    stopped (no chat-fcgi -s %s)\n' "$FCGI_SOCKET"
		return 1
	fi
	pids=$(children_of "$pid" | tr '\n' ' ')
	if [[ -z $pids ]]; then
		printf 'fastcgi:    chat-fcgi running (pid %s) but no worker; on %s\n' "$pid" "$FCGI_SOCKET"
		return 1
	fi
	printf 'fastcgi:    chat-fcgi running (pid %s) with %s worker(s) (pids %s) on %s\n' \
		"$pid" "$(wc -w <<<"$pids")" "${pids% }" "$FCGI_SOCKET"
}

# status_push_daemons: a line per daemon, and per one that should not run;
# fail unless all of node-1..node-N run and listen.
status_push_daemons() {
	local rc=0 k pid port role
	for ((k = 1; k <= DAEMONS; k++)); do
		port=$(push_port "$k")
		if ! pid=$(push_pid "$k"); then
			printf '%-11s stopped (node %s, port %s)\n' "push-$k:" "$(push_node "$k")" "$port"
			rc=1
		elif push_listening "$port" "$pid"; then
			printf '%-11s running (pid %s, node %s) on %s:%s\n' "push-$k:" "$pid" "$(push_node "$k")" "$PUSH_HOST" "$port"
		else
			printf '%-11s running (pid %s, node %s) but not listening on %s:%s\n' \
				"push-$k:" "$pid" "$(push_node "$k")" "$PUSH_HOST" "$port"
			rc=1
		fi
	done
	while read -r pid role; do
		[[ $role == fastcgi* ]] && continue
		if k=$(push_number "$role"); then
			((k <= DAEMONS)) && [[ $(push_pid "$k") == "$pid" ]] && continue
		fi
		printf '%-11s unexpected daemon %s (pid %s); ./stack up or down stops it\n' "push:" "$role" "$pid"
	done < <(stack_procs)
	return "$rc"
}

# cmd_daemon_restart: daemon K of an existing stack, stopped if it runs,
# started again with what the last `up` stored.
cmd_daemon_restart() {
	require_root
	local k=$DAEMON_ARG pid
	[[ -f $STACK_DIR/stack.env ]] ||
		die "no stack in $STACK_DIR: run ./stack up first, or set CHAT_STACK_DIR"
	if [[ ! $k =~ ^[1-9][0-9]*$ ]] || ((k > DAEMONS)); then
		die "daemon-restart '$k': the stack in $STACK_DIR has daemons 1..$DAEMONS"
	fi
	[[ -n $STORED_PUSH_BIN ]] || die "$STACK_DIR/stack.env names no push daemon program: run ./stack up"
	PUSH_RUN_BIN=$STORED_PUSH_BIN
	SANITIZE=$STORED_SANITIZE
	[[ -x $PUSH_RUN_BIN ]] || die "the push daemon program $PUSH_RUN_BIN is gone: run ./stack up"
	stop_push_daemons "$k" "$k"
	start_push "$k"
	pid=$(push_pid "$k") || die "push daemon $(push_node "$k") started, but its pid file $(push_pidfile "$k") is not right"
	printf 'push daemon %s running (pid %s) on %s:%s\n' "$(push_node "$k")" "$pid" "$PUSH_HOST" "$(push_port "$k")"
}

cmd_build() {
	require_root
	install_missing_packages
	build_run
	web_build
	note "built $(build_dir) (chat-fcgi, chat-push) and web/dist"
}

cmd_migrate() {
	require_root
	install_missing_packages
	ensure_user
	prepare_dirs
	ensure_cluster
	local was_running=0
	pg_running && was_running=1
	start_postgres
	ensure_database
	run_migrations
	((was_running)) || stop_postgres
}
