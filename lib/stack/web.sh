# shellcheck shell=bash
# lib/stack/web.sh: the web server in front (lighttpd, nginx or Apache):
# its configuration from etc/stack/NAME.conf.in, start, stop, restart on
# change. Sourced by ./stack.

# A web server NAME (lighttpd, nginx, apache) of this stack has its
# configuration in $STACK_DIR/NAME.conf, written from etc/stack/NAME.conf.in,
# its pid file run/NAME.pid and its error log log/NAME-error.log. Only one
# runs at a time: the one of --server.

web_conf() { printf '%s\n' "$STACK_DIR/$1.conf"; }
web_pidfile() { printf '%s\n' "$RUN_DIR/$1.pid"; }
web_log() { printf '%s\n' "$LOG_DIR/$1-error.log"; }

# web_comm NAME: the program name (/proc/PID/comm) of the main process.
web_comm() {
	case $1 in
	apache) printf 'apache2\n' ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# web_pid NAME: print the pid of this stack's web server NAME if it runs.
web_pid() {
	local file pid
	file=$(web_pidfile "$1")
	[[ -s $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$(web_comm "$1")" ]] || return 1
	printf '%s\n' "$pid"
}

# render_template TEMPLATE WORD=VALUE...: TEMPLATE with each @WORD@
# replaced by its VALUE (taken literally, newlines included).
render_template() {
	local template=$1 text pair
	shift
	[[ -f $template ]] || die "$template is missing"
	text=$(<"$template")
	for pair; do
		text=${text//"@${pair%%=*}@"/"${pair#*=}"}
	done
	printf '%s\n' "$text"
}

# WEB_NOFILE_MAX: the most open files a web server process is given; enough
# for 10,000 idle clients beside 10,000 proxied connections (two each).
WEB_NOFILE_MAX=65536

# web_nofile: print the open-file limit of the web server's processes: the
# hard limit user chat gets (each process raises its soft limit that far;
# runuser starts it at 1,024), at most WEB_NOFILE_MAX. The configurations
# size their connection limits from it.
web_nofile() {
	local hard
	hard=$(as_chat_clean sh -c 'ulimit -Hn')
	[[ $hard =~ ^[0-9]+$ ]] && ((hard < WEB_NOFILE_MAX)) || hard=$WEB_NOFILE_MAX
	printf '%s\n' "$hard"
}

# render_lighttpd_conf: etc/stack/lighttpd.conf.in with this stack's values.
render_lighttpd_conf() {
	local env='' servers='' k nofile conns
	if ((SANITIZE)); then
		env="\"ASAN_OPTIONS\" => \"$ASAN_OPTS\", \"UBSAN_OPTIONS\" => \"$UBSAN_OPTS\""
	fi
	for ((k = 1; k <= DAEMONS; k++)); do
		servers+="${servers:+, }( \"host\" => \"$PUSH_HOST\", \"port\" => $(push_port "$k") )"
	done
	# lighttpd holds at most half as many connections as open files (a
	# proxied one takes two), and counts them in 16 bits.
	nofile=$(web_nofile)
	conns=$((nofile / 2 < 65535 ? nofile / 2 : 65535))
	render_template "$ROOT/etc/stack/lighttpd.conf.in" \
		BIND="$BIND" HOST="$HOST" PORT="$PORT" STACK_DIR="$STACK_DIR" \
		FCGI_BIN="$FCGI_RUN_BIN" CONFIG="$CHAT_CONF" FCGI_PROCS="$FCGI_PROCS" \
		FCGI_ENV="$env" PUSH_SERVERS="$servers" MAX_FDS="$nofile" \
		MAX_CONNECTIONS="$conns"
}

# render_nginx_conf: etc/stack/nginx.conf.in with this stack's values.
render_nginx_conf() {
	local servers='' k nofile
	for ((k = 1; k <= DAEMONS; k++)); do
		servers+="${servers:+$'\n        '}server $PUSH_HOST:$(push_port "$k") max_fails=0;"
	done
	# A worker's connections, and the files it keeps besides (logs,
	# listening socket, buffered bodies), within its open-file limit.
	nofile=$(web_nofile)
	render_template "$ROOT/etc/stack/nginx.conf.in" \
		STACK_DIR="$STACK_DIR" LISTEN="$BIND:$PORT" FCGI_SOCKET="$FCGI_SOCKET" \
		PUSH_SERVERS="$servers" NOFILE="$nofile" \
		WORKER_CONNECTIONS=$((nofile * 15 / 16))
}

# render_apache_conf: etc/stack/apache.conf.in with this stack's values.
render_apache_conf() {
	local members='' k
	for ((k = 1; k <= DAEMONS; k++)); do
		members+="${members:+$'\n'}    BalancerMember \"http://$PUSH_HOST:$(push_port "$k")\" upgrade=websocket timeout=3600 retry=0"
	done
	render_template "$ROOT/etc/stack/apache.conf.in" \
		STACK_DIR="$STACK_DIR" SERVER_NAME="$BIND" LISTEN="$BIND:$PORT" \
		FCGI_SOCKET="$FCGI_SOCKET" PUSH_MEMBERS="$members"
}

# write_lighttpd_errors: lighttpd's own error answers (JSON, one file per
# status, etc/lighttpd/errors/) where its server.errorfile-prefix points.
write_lighttpd_errors() {
	local dir=$STACK_DIR/www/errors file
	install -d -m 755 "$dir"
	for file in "$ROOT"/etc/lighttpd/errors/*.html; do
		cmp -s "$file" "$dir/${file##*/}" || install -m 644 "$file" "$dir/"
	done
}

# write_web_conf NAME: write NAME.conf, touching it only when it changed.
write_web_conf() {
	local conf tmp
	conf=$(web_conf "$1")
	tmp=$conf.tmp
	"render_$1_conf" >"$tmp"
	if grep -v '^[[:space:]]*#' "$tmp" | grep -q '@[A-Z_]*@'; then
		die "unknown @WORD@ left in $tmp: $(grep -v '^[[:space:]]*#' "$tmp" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ')"
	fi
	chmod 644 "$tmp"
	replace_if_changed "$tmp" "$conf"
}

# as_chat_clean CMD...: run a command as chat from / in a clean environment
# (a web server's, and what it spawns).
as_chat_clean() {
	(cd / && env -i "${CLEAN_ENV[@]}" runuser -u "$RUN_USER" -- "$@")
}

# check_web_conf NAME CMD...: CMD (the server's configuration test) must
# pass, as chat.
check_web_conf() {
	local name=$1 out
	shift
	if ! out=$(as_chat "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		die "$name rejects $(web_conf "$name")"
	fi
}

# launch_web NAME CMD...: start web server NAME (CMD daemonizes) as chat;
# return once its pid file names it.
launch_web() {
	local name=$1 i log
	shift
	log=$(web_log "$name")
	note "starting $name on $BIND:$PORT"
	rm -f "$(web_pidfile "$name")"
	# runuser starts it with the soft limit of 1,024 open files.
	if ! as_chat_clean prlimit --nofile="$(web_nofile):" -- "$@" >&2; then
		show_log_tail "$log"
		die "$name did not start (is port $PORT taken? see $log)"
	fi
	for ((i = 0; i < 100; i++)); do
		web_pid "$name" >/dev/null && return 0
		sleep 0.1
	done
	show_log_tail "$log"
	die "$name wrote no pid file ($(web_pidfile "$name"))"
}

# start_web NAME: check the configuration, start the server.
start_web() { "start_$1"; }

start_lighttpd() {
	check_web_conf lighttpd "$LIGHTTPD" -tt -f "$(web_conf lighttpd)"
	# The FastCGI processes inherit the clean environment.
	launch_web lighttpd "$LIGHTTPD" -f "$(web_conf lighttpd)"
}

# nginx_args: NGINX_ARGS = configuration, prefix and early error log, so
# that nothing under /etc/nginx or /var/log/nginx is read or written.
nginx_args() {
	NGINX_ARGS=(-c "$(web_conf nginx)" -p "$STACK_DIR/" -e "$(web_log nginx)")
}

start_nginx() {
	nginx_args
	install -d -o "$RUN_USER" -g "$RUN_USER" -m 700 "$STACK_DIR/tmp/nginx"
	check_web_conf nginx "$NGINX" -t -q "${NGINX_ARGS[@]}"
	launch_web nginx "$NGINX" "${NGINX_ARGS[@]}"
}

start_apache() {
	install -d -o "$RUN_USER" -g "$RUN_USER" -m 700 "$RUN_DIR/apache"
	check_web_conf apache "$APACHE" -t -f "$(web_conf apache)"
	launch_web apache "$APACHE" -f "$(web_conf apache)" -k start
}

# stop_web NAME: stop this stack's web server NAME if it runs: SIGTERM (a
# fast stop for nginx and Apache: open WebSockets are cut, and the clients
# reconnect), SIGKILL to it and its children after 30 s. lighttpd's FastCGI
# processes go too.
stop_web() {
	local name=$1 pid kids
	if pid=$(web_pid "$name"); then
		note "stopping $name (pid $pid)"
		kids=$(children_of "$pid" | tr '\n' ' ')
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_gone 30 "$pid"; then
			warn "$name (pid $pid) ignored SIGTERM for 30 s: killing it and its processes"
			# shellcheck disable=SC2086 # kids: a list of pids
			kill -KILL "$pid" $kids 2>/dev/null || true
			# shellcheck disable=SC2086
			wait_gone 5 "$pid" $kids || true
		fi
	fi
	rm -f "$(web_pidfile "$name")"
	[[ $name != lighttpd ]] || stop_lighttpd_fcgi "${pid:+10}"
}

# stop_lighttpd_fcgi [GRACE]: the FastCGI processes lighttpd spawned, left
# GRACE seconds to exit on their own (lighttpd sent them SIGTERM as it
# stopped), then sent SIGTERM, then SIGKILL.
stop_lighttpd_fcgi() {
	local grace=${1:-0} kids
	kids=$(fcgi_pids fastcgi | tr '\n' ' ')
	[[ -n $kids ]] || return 0
	# shellcheck disable=SC2086 # kids: a list of pids
	if ! wait_gone "$grace" $kids; then
		note "stopping leftover FastCGI processes: $kids"
		# shellcheck disable=SC2086
		stop_pids "FastCGI processes" 20 $kids
	fi
}

# stop_web_servers [EXCEPT]: stop every web server of this stack but EXCEPT.
stop_web_servers() {
	local name
	for name in "${WEB_SERVERS[@]}"; do
		[[ $name == "${1:-}" ]] || stop_web "$name"
	done
}

# ensure_web_server: the web server of --server running with this stack's
# configuration (restarted when it changed; lighttpd also when the FastCGI
# program or its configuration did, as it runs them).
ensure_web_server() {
	local name=$SERVER pid file restart=0 conf
	local -a inputs
	conf=$(web_conf "$name")
	write_web_conf "$name"
	[[ $name != lighttpd ]] || write_lighttpd_errors
	inputs=("$conf")
	[[ $name != lighttpd ]] || inputs+=("$CHAT_CONF" "$JWT_SECRET" "$FCGI_RUN_BIN")
	if pid=$(web_pid "$name"); then
		for file in "${inputs[@]}"; do
			[[ $file -nt $(web_pidfile "$name") ]] && restart=1
		done
		if ((!restart)); then
			note "$name already running (pid $pid)"
			return 0
		fi
		note "configuration or program changed: restarting $name"
	fi
	stop_web "$name" # also what a dead one left behind
	start_web "$name"
}
