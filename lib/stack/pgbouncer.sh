# shellcheck shell=bash
# lib/stack/pgbouncer.sh: PgBouncer (Debian's) in transaction mode between
# chat-fcgi and PostgreSQL, with ./stack up --pgbouncer; its configuration
# is written here, in one place, from chat.conf. Sourced by ./stack.
#
# chat-fcgi reaches it through [database] fcgi_conninfo with pooled = 1: it
# sends its statements unnamed (PgBouncer 1.18 does not carry prepared
# statements across server connections) and sets no session settings of
# its own. The rate limits of chat.conf, which sql/functions/limits.sql
# reads from the session, are given to every server connection by the
# database's connect_query, the statement `chat-fcgi --connect-query`
# prints. The push daemons keep connecting to PostgreSQL directly
# ([database] conninfo): LISTEN needs a session of its own.

PGBOUNCER=/usr/sbin/pgbouncer
PGBOUNCER_PACKAGE=pgbouncer
PGBOUNCER_PORT=6432 # its socket: $RUN_DIR/.s.PGSQL.6432

# pgbouncer_connect_query FCGI_BIN CHAT_CONF: the statement that gives a
# server connection the rate limits of CHAT_CONF (run as $RUN_USER, who
# can read its secret file, which chat-fcgi checks on loading it).
pgbouncer_connect_query() {
	as_chat "$1" -c "$2" --connect-query
}

# pgbouncer_write_config DIR CONNECT_QUERY SERVER_HOST SERVER_PORT
#     LISTEN_ADDR LISTEN_PORT SOCKET_DIR
# DIR/pgbouncer.ini and DIR/userlist.txt (both replaced only when their
# content changed; owned by $RUN_USER, mode 600): the database $DB_NAME
# of the server at SERVER_HOST (a socket directory or an address) and
# SERVER_PORT, in transaction mode, with CONNECT_QUERY run on each new
# server connection; listening on LISTEN_ADDR:LISTEN_PORT (LISTEN_ADDR
# empty: no TCP) and on a Unix socket in SOCKET_DIR (empty: none). Clients
# are trusted (auth_type trust: on a socket of $RUN_USER's, or a private
# network), as $DB_ROLE, which may also read SHOW POOLS and SHOW STATS on
# the console (database pgbouncer), and as $RUN_USER, its administrator
# there (RELOAD, KILL, RESUME). Server connections: PGBOUNCER_POOL_SIZE
# (default 20). Logs go to stderr.
pgbouncer_write_config() {
	local dir=$1 query=$2 server_host=$3 server_port=$4 listen_addr=$5
	local listen_port=$6 socket_dir=$7
	[[ $query =~ ^[A-Za-z0-9_.,\ \(\)-]+$ ]] ||
		die "the connect query '$query' holds more than a statement of numbers"
	[[ ${PGBOUNCER_POOL_SIZE:-20} =~ ^[1-9][0-9]{0,3}$ ]] ||
		die "PGBOUNCER_POOL_SIZE '$PGBOUNCER_POOL_SIZE' must be a number from 1 to 9999"
	install -d -m 755 "$dir"
	cat >"$dir/pgbouncer.ini.tmp" <<EOF
; Written by ./stack (lib/stack/pgbouncer.sh) from chat.conf: edits are
; overwritten. docs/DEPLOY.md, "PgBouncer and a read replica".
[databases]
$DB_NAME = host=$server_host port=$server_port dbname=$DB_NAME connect_query='$query'

[pgbouncer]
pool_mode = transaction
listen_addr = $listen_addr
listen_port = $listen_port
unix_socket_dir = $socket_dir
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = $RUN_USER
stats_users = $DB_ROLE
; Each chat-fcgi process holds one client connection; a server
; connection serves whichever has a transaction to run.
max_client_conn = 1000
default_pool_size = ${PGBOUNCER_POOL_SIZE:-20}
; A server that went away (a restart) is tried again within a second,
; and a statement waits no longer for a server connection than chat-fcgi
; would for a database it cannot reach: it fails, and the client gets
; the 503 of an unreachable database.
server_login_retry = 1
query_wait_timeout = 5
ignore_startup_parameters = extra_float_digits
EOF
	printf '"%s" ""\n' "$DB_ROLE" "$RUN_USER" >"$dir/userlist.txt.tmp"
	local f
	for f in pgbouncer.ini userlist.txt; do
		install_private "$dir/$f.tmp" "$dir/$f"
	done
}

# The stack's PgBouncer: its files in $STACK_DIR/pgbouncer, its socket in
# $RUN_DIR, its log in $LOG_DIR/pgbouncer.log.
PGBOUNCER_DIR_NAME=pgbouncer
pgbouncer_dir() { printf '%s\n' "$STACK_DIR/$PGBOUNCER_DIR_NAME"; }
pgbouncer_pidfile() { printf '%s\n' "$RUN_DIR/pgbouncer.pid"; }

# The conninfo chat-fcgi uses to reach it.
pgbouncer_conninfo() {
	printf 'host=%s port=%s dbname=%s user=%s\n' "$RUN_DIR" "$PGBOUNCER_PORT" "$DB_NAME" "$DB_ROLE"
}

# pgbouncer_pid: the pid of the stack's PgBouncer, if it runs.
pgbouncer_pid() {
	local pid
	pid=$(cat "$(pgbouncer_pidfile)" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] && alive "$pid" &&
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$PGBOUNCER" ]] || return 1
	printf '%s\n' "$pid"
}

pgbouncer_listening() { [[ -S $RUN_DIR/.s.PGSQL.$PGBOUNCER_PORT ]]; }

# ensure_pgbouncer: the stack's PgBouncer running with the configuration
# of chat.conf; restarted when that changed.
ensure_pgbouncer() {
	local dir pid query
	dir=$(pgbouncer_dir)
	query=$(pgbouncer_connect_query "$FCGI_RUN_BIN" "$CHAT_CONF") ||
		die "chat-fcgi --connect-query failed"
	# The stack's cluster, or the database host of CHAT_DB_HOST.
	pgbouncer_write_config "$dir" "$query" "${DB_HOST:-$RUN_DIR}" 5432 '' "$PGBOUNCER_PORT" "$RUN_DIR"
	if pid=$(pgbouncer_pid); then
		if [[ ! $dir/pgbouncer.ini -nt $(pgbouncer_pidfile) ]]; then
			note "PgBouncer already running (pid $pid)"
			return 0
		fi
		note "PgBouncer: its configuration changed: restarting it"
		stop_pgbouncer
	fi
	note "starting PgBouncer (transaction mode) on $RUN_DIR/.s.PGSQL.$PGBOUNCER_PORT"
	rm -f "$RUN_DIR/.s.PGSQL.$PGBOUNCER_PORT" "$RUN_DIR/.s.PGSQL.$PGBOUNCER_PORT.lock"
	run_detached "$(pgbouncer_pidfile)" "$LOG_DIR/pgbouncer.log" "$PGBOUNCER" "$dir/pgbouncer.ini"
	wait_ready PgBouncer "$(pgbouncer_pidfile)" "$LOG_DIR/pgbouncer.log" \
		"opened no socket in $RUN_DIR" pgbouncer_ready
}

pgbouncer_ready() { pgbouncer_listening; }

stop_pgbouncer() {
	local pid
	if pid=$(pgbouncer_pid); then
		note "stopping PgBouncer (pid $pid)"
		stop_pids PgBouncer 10 "$pid"
	fi
	rm -f "$(pgbouncer_pidfile)"
}

status_pgbouncer() {
	local pid
	if pid=$(pgbouncer_pid); then
		printf 'pgbouncer:  running (pid %s, transaction mode) on %s/.s.PGSQL.%s\n' \
			"$pid" "$RUN_DIR" "$PGBOUNCER_PORT"
		return 0
	fi
	printf 'pgbouncer:  stopped\n'
	return 1
}
