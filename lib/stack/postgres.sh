# shellcheck shell=bash
# lib/stack/postgres.sh: the stack's PostgreSQL cluster (initdb, its
# settings, start, stop), the application's role and database, and the
# migrations of sql/. Sourced by ./stack.

pg_ctl() { as_chat "$PG_BIN/pg_ctl" -D "$PGDATA" "$@"; }

pg_running() {
	[[ -f $PGDATA/PG_VERSION ]] && id -u "$RUN_USER" >/dev/null 2>&1 &&
		pg_ctl status >/dev/null 2>&1
}

pg_pid() { head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null; }

# ensure_cluster: initdb once; on every start, the settings that follow the
# stack directory (socket only, no TCP, unless CHAT_PG_LISTEN) go to an
# included stack.conf.
ensure_cluster() {
	if [[ ! -f $PGDATA/PG_VERSION ]]; then
		note "creating the PostgreSQL cluster in $PGDATA"
		install -d -o "$RUN_USER" -g "$RUN_USER" -m 700 "$PGDATA"
		as_chat "$PG_BIN/initdb" -D "$PGDATA" --auth=trust --username="$RUN_USER" \
			--encoding=UTF8 --locale=C.UTF-8 >"$LOG_DIR/initdb.log" 2>&1 || {
			show_log_tail "$LOG_DIR/initdb.log"
			die "initdb failed"
		}
		printf "\n# Added by ./stack: settings that follow the stack directory.\ninclude_if_exists = 'stack.conf'\n" \
			>>"$PGDATA/postgresql.conf"
	fi
	local conf=$PGDATA/stack.conf
	{
		printf '# Written by ./stack on every start: the Unix socket, and TCP only on\n'
		printf '# the address of CHAT_PG_LISTEN.\n'
		printf "listen_addresses = '%s'\n" "${PG_LISTEN%/*}"
		printf "unix_socket_directories = '%s'\n" "$RUN_DIR"
		if [[ -n $PG_LISTEN ]]; then
			write_stack_hba
			printf "hba_file = '%s'\n" "$PGDATA/stack_hba.conf"
		fi
		# Throwaway test clusters need no protection from an OS crash;
		# a PostgreSQL crash still loses nothing with fsync off.
		[[ ${CHAT_PG_FSYNC:-on} == off ]] && printf 'fsync = off\n'
		# The bench stack sizes PostgreSQL's cache as a production
		# server of this machine would (bench/run).
		[[ -n ${CHAT_PG_SHARED_BUFFERS:-} ]] &&
			printf "shared_buffers = '%s'\n" "$CHAT_PG_SHARED_BUFFERS"
		[[ -n ${CHAT_PG_MAX_WAL_SIZE:-} ]] &&
			printf "max_wal_size = '%s'\n" "$CHAT_PG_MAX_WAL_SIZE"
		# The WAL a replica's slot may hold back while it is away.
		printf "max_slot_wal_keep_size = '1GB'\n"
		# The bench stack loads pg_stat_statements for its profiles.
		[[ -n ${CHAT_PG_PRELOAD:-} ]] &&
			printf "shared_preload_libraries = '%s'\n" "$CHAT_PG_PRELOAD"
		true
	} >"$conf.tmp"
	install_private "$conf.tmp" "$conf"
}

# write_stack_hba: initdb's pg_hba.conf, and the application role from the
# network of CHAT_PG_LISTEN without a password: the hosts of a test on
# this machine (tests/multihost), on a network no one else reaches.
write_stack_hba() {
	local hba=$PGDATA/stack_hba.conf
	{
		cat "$PGDATA/pg_hba.conf"
		printf '\n# Added by ./stack for CHAT_PG_LISTEN.\n'
		printf 'host %s %s %s trust\n' "$DB_NAME" "$DB_ROLE" "$PG_LISTEN"
	} >"$hba.tmp"
	install_private "$hba.tmp" "$hba"
}

# cluster_ctl DATA LOG WHAT start|stop: pg_ctl on the cluster in DATA (the
# primary's or the replica's), waiting for it; when it fails, the tail of
# its LOG, and WHAT (its name in the message) did not start, or stop.
cluster_ctl() {
	local data=$1 log=$2 what=$3 action=$4 args
	if [[ $action == start ]]; then args=(-l "$log"); else args=(-m fast); fi
	as_chat "$PG_BIN/pg_ctl" -D "$data" "$action" -w -t 60 -s "${args[@]}" >&2 || {
		show_log_tail "$log"
		die "$what did not $action"
	}
}

start_postgres() {
	if pg_running; then
		return 0
	fi
	note "starting PostgreSQL"
	cluster_ctl "$PGDATA" "$PG_LOG" PostgreSQL start
}

stop_postgres() {
	if pg_running; then
		note "stopping PostgreSQL (pid $(pg_pid))"
		cluster_ctl "$PGDATA" "$PG_LOG" PostgreSQL stop
	fi
}

# ensure_database: the application's role (no superuser) and its database.
ensure_database() {
	as_chat "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -U "$RUN_USER" -d postgres >&2 <<EOF
SELECT 'CREATE ROLE $DB_ROLE LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE') \gexec
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_ROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
EOF
}

# run_migrations: sql/migrate as chat, connecting as the application role.
run_migrations() {
	local migrate=$ROOT/sql/migrate
	[[ -x $migrate ]] || die "$migrate missing or not executable"
	if ! as_chat test -r "$ROOT/sql" -a -x "$ROOT/sql" -a -x "$migrate"; then
		# The repository is closed to chat: migrate from a copy.
		local copy=$STACK_DIR/sql
		rm -rf "$copy"
		install -d -m 755 "$copy"
		install -m 755 "$migrate" "$copy/migrate"
		cp -R "$ROOT/sql/migrations" "$ROOT/sql/functions" "$copy/"
		chmod -R a+rX "$copy"
		warn "user $RUN_USER cannot reach $ROOT/sql; migrating from a copy in $copy"
		migrate=$copy/migrate
	fi
	as_chat env PSQL="$PG_BIN/psql" "$migrate" "$CONNINFO" >&2 ||
		die "migrations failed (see above); the database keeps the versions applied before the failure"
}

# ---------------------------------------------------------------- replica

# The stack's streaming replica (./stack up --replica): a hot standby made
# with pg_basebackup from the cluster above, replaying its WAL as it comes
# (PostgreSQL's own streaming replication, as $RUN_USER like the primary),
# on the socket $RUN_DIR/.s.PGSQL.$REPLICA_PORT. chat-fcgi reads history
# and search there ([database] replica_conninfo, fcgi-app/replica.h).
REPLICA_PORT=5433
REPLICA_SLOT=chat_replica

replica_running() {
	[[ -f $REPLICA_DATA/PG_VERSION ]] &&
		as_chat "$PG_BIN/pg_ctl" -D "$REPLICA_DATA" status >/dev/null 2>&1
}

replica_conninfo() {
	printf 'host=%s port=%s dbname=%s user=%s\n' "$RUN_DIR" "$REPLICA_PORT" "$DB_NAME" "$DB_ROLE"
}

# ensure_replica: the replica made once from the running primary, then
# started with the settings that follow the stack directory.
ensure_replica() {
	if [[ ! -f $REPLICA_DATA/PG_VERSION ]]; then
		note "making the streaming replica in $REPLICA_DATA (pg_basebackup)"
		rm -rf "$REPLICA_DATA"
		install -d -o "$RUN_USER" -g "$RUN_USER" -m 700 "$REPLICA_DATA"
		# A replication slot keeps the WAL the replica has not received
		# while it is stopped (up to max_slot_wal_keep_size): without
		# one, a checkpoint meanwhile removes it and the replica never
		# catches up again. A slot left by an earlier replica goes first.
		as_chat "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN_DIR" -U "$RUN_USER" -d postgres \
			-c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$REPLICA_SLOT'" \
			>/dev/null || die "could not drop the old replication slot $REPLICA_SLOT"
		as_chat "$PG_BIN/pg_basebackup" -D "$REPLICA_DATA" -h "$RUN_DIR" -U "$RUN_USER" \
			--checkpoint=fast --wal-method=stream --write-recovery-conf \
			--create-slot --slot="$REPLICA_SLOT" \
			>"$LOG_DIR/pg_basebackup.log" 2>&1 || {
			show_log_tail "$LOG_DIR/pg_basebackup.log"
			rm -rf "$REPLICA_DATA"
			die "pg_basebackup failed"
		}
	fi
	# The primary's stack.conf came with the copy: the replica's own.
	local conf=$REPLICA_DATA/stack.conf
	{
		printf '# Written by ./stack on every start: the replica, Unix socket only.\n'
		printf "listen_addresses = ''\n"
		printf "unix_socket_directories = '%s'\n" "$RUN_DIR"
		printf 'port = %s\n' "$REPLICA_PORT"
		printf 'hot_standby = on\n'
		[[ ${CHAT_PG_FSYNC:-on} == off ]] && printf 'fsync = off\n'
		true
	} >"$conf.tmp"
	install_private "$conf.tmp" "$conf"
	if replica_running; then
		return 0
	fi
	note "starting the replica"
	cluster_ctl "$REPLICA_DATA" "$REPLICA_LOG" "the replica" start
}

stop_replica() {
	if replica_running; then
		note "stopping the replica"
		cluster_ctl "$REPLICA_DATA" "$REPLICA_LOG" "the replica" stop
	fi
}

status_replica() {
	if replica_running; then
		printf 'replica:    running (streaming from the primary, socket in %s, port %s)\n' "$RUN_DIR" "$REPLICA_PORT"
		return 0
	fi
	printf 'replica:    stopped\n'
	return 1
}
