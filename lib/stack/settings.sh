# shellcheck shell=bash
# lib/stack/settings.sh: what ./stack knows before it looks at the machine:
# its constants, its messages, the usage text, the command line, and the
# settings resolved from options, environment and the last `up`
# (stack.env). Sourced by ./stack.

# ---------------------------------------------------------------- constants

PG_BIN=/usr/lib/postgresql/15/bin
LIGHTTPD=/usr/sbin/lighttpd
NGINX=/usr/sbin/nginx
APACHE=/usr/sbin/apache2
WEB_SERVERS=(lighttpd nginx apache) # --server NAME; ./stack test runs all
PYTHON=/usr/bin/python3          # Debian's interpreter, with Debian's modules
RUN_USER=chat
DB_NAME=chat
DB_ROLE=chat_app
DEFAULT_HOST=127.0.0.1
DEFAULT_PORT=8000
TEST_PORT_FIRST=18000
TEST_DAEMONS=2
E2E_TIMEOUT=900                  # seconds one run of tests/e2e may take (about 500 behind a PgBouncer and a replica on a busy machine)
BROWSER_TIMEOUT=300              # seconds one run of tests/browser may take
MULTIHOST_TIMEOUT=400            # seconds tests/multihost/run may take
BROWSER_PACKAGES=(chromium)      # the browser tests' headless Chromium
CHAOS_DEFAULT_SECONDS=600        # ./stack chaos without SECONDS
HEALTH_TIMEOUT=30
PUSH_HOST=127.0.0.1              # the push daemons listen on loopback only
PUSH_STOP_TIMEOUT=10             # seconds a daemon may drain before SIGKILL
WS_PATH=/api/v1/chat/ws/chat
# The environment of the web server and of the processes ./stack starts.
CLEAN_ENV=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)

# ---------------------------------------------------------------- messages

note() { printf 'stack: %s\n' "$*" >&2; }
warn() { printf 'stack: warning: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# show_log_tail FILE [LINES]: the end of a log, to explain a failure.
show_log_tail() {
	local file=$1 lines=${2:-30}
	[[ -s $file ]] || return 0
	printf 'stack: ---- last %s lines of %s ----\n' "$lines" "$file" >&2
	tail -n "$lines" "$file" >&2
	printf 'stack: ----\n' >&2
}

usage() {
	cat <<EOF
Usage: ./stack COMMAND [OPTIONS]

Commands:
  up        install missing Debian packages, build, start PostgreSQL, the
            push daemons (chat-push), the FastCGI application (chat-fcgi)
            and the web server of --server; idempotent: a daemon, chat-fcgi
            or web server whose program or configuration changed is
            restarted, the others keep running; a web server of this stack
            other than --server is stopped
  down      stop the push daemons (SIGTERM, SIGKILL after $PUSH_STOP_TIMEOUT s), then
            the web server, then chat-fcgi, then PostgreSQL
  status    one line per component and per push daemon; exit 0 if all
            run, 3 otherwise
  test      unit tests (make check) in the normal and the sanitizer build
            (once), each fuzz harness of tests/fuzz for $FUZZ_TEST_SECONDS s after
            its corpus and regressions, then tests/e2e against a fresh
            throwaway stack with $TEST_DAEMONS push daemons behind each web
            server in turn, then tests/browser (headless Chromium) on
            that stack:
            ${WEB_SERVERS[*]} (only the one of --server, if
            given); then, in the full run, tests/deploy/follow-guide.sh
            (docs/DEPLOY.md followed with nginx) and tests/multihost/run
            (a database host and two hosts in network namespaces, a host
            cut off and back); a line per part, last line "total: N
            passed, N failed". Arguments after -- go to the end-to-end
            suite's pytest.
  chaos [SECONDS]
            load with multi-device users reconnecting with since, while
            push daemons and FastCGI processes are killed (-9) and
            PostgreSQL restarted at random, for SECONDS (default
            $CHAOS_DEFAULT_SECONDS), on a throwaway stack behind --server (default
            lighttpd); then checks that nothing acknowledged or recorded
            was lost, repeated or reordered (tests/chaos/chaos.py, whose
            options go after --). Summary in JSON on stdout and in
            bench/results/chaos.json; exit 1 if the check fails.
  bench [SCENARIO...]
            the benchmarks (bench/run): an optimized stack of their own,
            figures written to bench/results/ and bench/RESULTS.md
  daemon-restart K
            stop push daemon K (node-K) if it runs, start it again with the
            program and options of the last \`up\`, and wait until its port
            accepts connections. Idempotent: exit 0 once daemon K runs,
            whatever state it was in. Acts on the stack of CHAT_STACK_DIR.
  fuzz [SECONDS] [HARNESS...]
            build the libFuzzer harnesses of tests/fuzz with clang in
            build-fuzz/ and run each (or those named) for SECONDS
            (default $FUZZ_DEFAULT_SECONDS) after replaying its corpus and regressions;
            new corpus entries go to a scratch directory, a crash's
            input to tests/fuzz/regressions/HARNESS/; exit 1 on a crash.
            Harnesses: $(fuzz_names | paste -sd ' ')
  build     build the normal tree (build/), or build-asan/ with --sanitize;
            and web/dist (npm: the web client, the reference page, the API
            documents as JSON, after Redocly's linter on docs/*.yaml)
  migrate   start PostgreSQL if needed and run sql/migrate (the migrations
            of sql/migrations/, then the definitions of sql/functions/)
  help      this text

Options (also as environment variables; up remembers them for the others):
  --host H         listen address (CHAT_HOST, default $DEFAULT_HOST)
  --port P         listen port (CHAT_PORT, default $DEFAULT_PORT)
  --sanitize       run the AddressSanitizer/UBSan build (build-asan/)
  --server NAME    web server in front (CHAT_SERVER, default lighttpd):
                   lighttpd, which spawns and respawns the FastCGI
                   processes itself; nginx or apache (or apache2), for
                   which ./stack runs \`chat-fcgi -s SOCKET -w N\`, which
                   restarts any of its N workers that dies. The server runs
                   as $RUN_USER with a configuration of its own in the state
                   directory, from etc/stack/NAME.conf.in; nothing in
                   /etc/nginx or /etc/apache2 is read or changed.
  --daemons N      push daemons to run (CHAT_DAEMONS, default 1); daemon K
                   is node-K, listening on $PUSH_HOST:PUSH_PORT+K-1
  --push-port P    port of the first push daemon (CHAT_PUSH_PORT, default
                   the --port + 1); the web server proxies every path under
                   ${WS_PATH%/*}/ to the daemons, every other path to chat-fcgi
  --pgbouncer      chat-fcgi reaches PostgreSQL through PgBouncer in
                   transaction mode (CHAT_PGBOUNCER=1; files in
                   pgbouncer/, socket run/.s.PGSQL.6432, log
                   log/pgbouncer.log); the push daemons connect directly
  --replica        a streaming replica (pg_basebackup of the cluster, in
                   pg/replica, socket run/.s.PGSQL.5433, log
                   log/postgresql-replica.log) serves chat-fcgi's history
                   and search reads (CHAT_REPLICA=1)
  --direct         neither (the default; undoes what an earlier up set)

Environment:
  CHAT_STACK_DIR   state directory (default $ROOT/var)
  CHAT_FCGI_PROCS  FastCGI processes: those lighttpd spawns, or the workers
                   of chat-fcgi -w (default 2)
  CHAT_FCGI_BIN    run this FastCGI binary instead of building one
  CHAT_PUSH_BIN    run this push daemon binary instead of the build tree's
                   (needed with CHAT_FCGI_BIN when no tree has chat-push)
  CHAT_E2E_TIMEOUT seconds one run of the end-to-end suite may take
                   (default $E2E_TIMEOUT)
  CHAT_FUZZ_SECONDS
                   seconds each fuzz harness runs under ./stack test
                   (default $FUZZ_TEST_SECONDS)
  CHAT_DB_HOST     address of a PostgreSQL on another host (one of several
                   hosts on one database, as tests/multihost builds them):
                   up starts no cluster and runs no migrations, and the
                   stack's processes connect to its database $DB_NAME as
                   $DB_ROLE over TCP
  CHAT_PG_LISTEN   ADDRESS/PREFIX: the stack's PostgreSQL also listens on
                   ADDRESS (TCP port 5432) and lets $DB_ROLE in from that
                   network without a password: for a private test network
                   only (tests/multihost)
  CHAT_NODE_PREFIX the push daemons' node ids are PREFIX1..PREFIXN
                   (default node-); the daemons of several hosts on one
                   database need ids of their own

Files in the state directory: NAME.conf (the web server's configuration),
log/push-K.log (stdout and stderr of push daemon K, appended),
run/push-K.pid, log/chat-fcgi.log (stderr of the FastCGI processes),
log/NAME-access.log and log/NAME-error.log (the web server's; paths
without query strings), run/NAME.pid; behind nginx or Apache also
run/chat-fcgi.pid (the supervising chat-fcgi) and run/chat-fcgi.sock;
log/asan.PID and log/ubsan.PID (sanitizer reports of any process, with
--sanitize).

Environment of tests/e2e under ./stack test:
  CHAT_URL, CHAT_DB, CHAT_JWT_SECRET_FILE, CHAT_PGDATA, CHAT_PGCTL,
  CHAT_PG_LOG, CHAT_RUN_AS, CHAT_STACK_DIR, CHAT_CONFIG (its chat.conf),
  CHAT_SERVER         the web server in front: lighttpd, nginx or apache
  CHAT_WS_URL         ws://127.0.0.1:PORT$WS_PATH (through the web server)
  CHAT_PUSH_PORTS     "P1 P2": the daemons' own ports; a test puts a user
                      on daemon K with ws://127.0.0.1:PK$WS_PATH
  CHAT_PUSH_NODES     "node-1 node-2", in the same order
  CHAT_PUSH_PIDFILES  "F1 F2": their pid files, in the same order
  CHAT_PUSH_BIN       the push daemon binary the test stack runs
  CHAT_PGBOUNCER_DB   behind apache (run with --pgbouncer --replica): the
                      console of the stack's PgBouncer (SHOW POOLS ...)
  CHAT_REPLICA_DB, CHAT_REPLICA_PGDATA
                      behind apache: the replica's conninfo and directory
  CHAT_STACK_CMD      this script
  A test that stopped daemon K (say kill -9 "\$(cat FK)") starts it again,
  with the same options, by running
      "\$CHAT_STACK_CMD" daemon-restart K
  which returns (exit 0) once the daemon listens again.
EOF
}

# ---------------------------------------------------------------- settings

OPT_HOST='' OPT_PORT='' OPT_SERVER='' OPT_DAEMONS='' OPT_PUSH_PORT='' SANITIZE=0
OPT_PGBOUNCER='' OPT_REPLICA=''
COMMAND=''
DAEMON_ARG=''
CHAOS_SECONDS=''
FUZZ_ARGS=()
PYTEST_ARGS=()

parse_args() {
	while (($#)); do
		case $1 in
		--host | --port | --server | --daemons | --push-port)
			(($# >= 2)) || die "$1 needs a value"
			set_option "${1#--}" "$2"
			shift 2
			;;
		--host=* | --port=* | --server=* | --daemons=* | --push-port=*)
			local name=${1%%=*}
			set_option "${name#--}" "${1#*=}"
			shift
			;;
		--sanitize) SANITIZE=1; shift ;;
		--pgbouncer) OPT_PGBOUNCER=1; shift ;;
		--replica) OPT_REPLICA=1; shift ;;
		--direct) OPT_PGBOUNCER=0 OPT_REPLICA=0; shift ;;
		-h | --help) COMMAND=help; shift ;;
		--)
			shift
			PYTEST_ARGS=("$@")
			break
			;;
		-*) die "unknown option: $1 (see ./stack help)" ;;
		*)
			if [[ $COMMAND == daemon-restart && -z $DAEMON_ARG ]]; then
				DAEMON_ARG=$1
			elif [[ $COMMAND == chaos && -z $CHAOS_SECONDS ]]; then
				[[ $1 =~ ^[1-9][0-9]*$ ]] || die "chaos takes a number of seconds, not '$1'"
				CHAOS_SECONDS=$1
			elif [[ $COMMAND == fuzz ]]; then
				FUZZ_ARGS+=("$1")
			else
				[[ -z $COMMAND ]] || die "one command at a time (got '$COMMAND' and '$1')"
				COMMAND=$1
			fi
			shift
			;;
		esac
	done
	if [[ $COMMAND == daemon-restart && -z $DAEMON_ARG ]]; then
		die "daemon-restart needs the number K of the daemon (1 for node-1, ...)"
	fi
	if ((${#PYTEST_ARGS[@]})) && [[ $COMMAND != test && $COMMAND != chaos ]]; then
		die "arguments after -- are for './stack test' and './stack chaos' only"
	fi
}

set_option() {
	case $1 in
	host) OPT_HOST=$2 ;;
	port) OPT_PORT=$2 ;;
	server) OPT_SERVER=$2 ;;
	daemons) OPT_DAEMONS=$2 ;;
	push-port) OPT_PUSH_PORT=$2 ;;
	esac
}

# safe_path PATH WHAT: paths end up unquoted in lighttpd's bin-path, in a
# libpq conninfo and in ASAN_OPTIONS, so keep them to a plain alphabet.
safe_path() {
	[[ $1 =~ ^/[A-Za-z0-9_./+-]*$ ]] ||
		die "$2 '$1' must be an absolute path of letters, digits and ._+-/ only"
}

# resolve_settings: option, then environment, then what the last `up`
# stored in stack.env, then the default.
resolve_settings() {
	STACK_DIR=${CHAT_STACK_DIR:-$ROOT/var}
	[[ $STACK_DIR == /* ]] || STACK_DIR=$PWD/$STACK_DIR
	safe_path "$STACK_DIR" "CHAT_STACK_DIR"
	safe_path "$ROOT" "the repository directory"

	local stored_host='' stored_port='' stored_server='' stored_daemons='' stored_push_port='' key value
	local stored_db_host='' stored_node_prefix=''
	local stored_pgbouncer='' stored_replica=''
	STORED_PUSH_BIN='' STORED_SANITIZE=0
	if [[ -f $STACK_DIR/stack.env ]]; then
		while IFS='=' read -r key value; do
			case $key in
			CHAT_HOST) stored_host=$value ;;
			CHAT_PORT) stored_port=$value ;;
			CHAT_SERVER) stored_server=$value ;;
			CHAT_DAEMONS) stored_daemons=$value ;;
			CHAT_PUSH_PORT) stored_push_port=$value ;;
			CHAT_DB_HOST) stored_db_host=$value ;;
			CHAT_NODE_PREFIX) stored_node_prefix=$value ;;
			CHAT_SANITIZE) [[ $value == 1 ]] && STORED_SANITIZE=1 ;;
			CHAT_PGBOUNCER) stored_pgbouncer=$value ;;
			CHAT_REPLICA) stored_replica=$value ;;
			PUSH_BIN) STORED_PUSH_BIN=$value ;;
			esac
		done <"$STACK_DIR/stack.env"
	fi
	HOST=${OPT_HOST:-${CHAT_HOST:-${stored_host:-$DEFAULT_HOST}}}
	PORT=${OPT_PORT:-${CHAT_PORT:-${stored_port:-$DEFAULT_PORT}}}
	SERVER=${OPT_SERVER:-${CHAT_SERVER:-${stored_server:-lighttpd}}}
	DAEMONS=${OPT_DAEMONS:-${CHAT_DAEMONS:-${stored_daemons:-1}}}
	# Empty: the first push daemon follows the main port (PORT + 1).
	PUSH_PORT_SETTING=${OPT_PUSH_PORT:-${CHAT_PUSH_PORT:-$stored_push_port}}
	FCGI_PROCS=${CHAT_FCGI_PROCS:-2}
	DB_HOST=${CHAT_DB_HOST:-$stored_db_host}
	PG_LISTEN=${CHAT_PG_LISTEN:-}
	NODE_PREFIX=${CHAT_NODE_PREFIX:-${stored_node_prefix:-node-}}
	PGBOUNCER_ON=${OPT_PGBOUNCER:-${CHAT_PGBOUNCER:-${stored_pgbouncer:-0}}}
	REPLICA_ON=${OPT_REPLICA:-${CHAT_REPLICA:-${stored_replica:-0}}}
	[[ $PGBOUNCER_ON == [01] ]] || die "CHAT_PGBOUNCER '$PGBOUNCER_ON' must be 0 or 1"
	[[ $REPLICA_ON == [01] ]] || die "CHAT_REPLICA '$REPLICA_ON' must be 0 or 1"

	[[ $HOST =~ ^[A-Za-z0-9.:-]+$ ]] || die "--host '$HOST' is not an address or host name"
	if [[ ! $PORT =~ ^[1-9][0-9]{0,4}$ ]] || ((PORT > 65535)); then
		die "--port '$PORT' is not a port number"
	fi
	[[ $DAEMONS =~ ^[1-9][0-9]{0,2}$ ]] || die "--daemons '$DAEMONS' must be a number from 1 to 999"
	PUSH_PORT=${PUSH_PORT_SETTING:-$((PORT + 1))}
	if [[ ! $PUSH_PORT =~ ^[1-9][0-9]{0,4}$ ]] || ((PUSH_PORT + DAEMONS - 1 > 65535)); then
		die "--push-port '$PUSH_PORT': the ports of $DAEMONS push daemon(s) from there are no port numbers"
	fi
	if ((PORT >= PUSH_PORT && PORT < PUSH_PORT + DAEMONS)); then
		die "the push daemons' ports $PUSH_PORT..$((PUSH_PORT + DAEMONS - 1)) include the main port $PORT: choose another --push-port"
	fi
	[[ $FCGI_PROCS =~ ^[1-9][0-9]{0,2}$ ]] || die "CHAT_FCGI_PROCS '$FCGI_PROCS' must be a number from 1 to 999"
	[[ -z $DB_HOST || $DB_HOST =~ ^[A-Za-z0-9.:-]+$ ]] ||
		die "CHAT_DB_HOST '$DB_HOST' is not an address or host name"
	[[ -z $PG_LISTEN || $PG_LISTEN =~ ^[0-9.]+/[0-9]{1,2}$ ]] ||
		die "CHAT_PG_LISTEN '$PG_LISTEN' is not an IPv4 ADDRESS/PREFIX"
	[[ -z $DB_HOST ]] || ((!REPLICA_ON)) ||
		die "--replica is made from the stack's own cluster: not with CHAT_DB_HOST"
	[[ $NODE_PREFIX =~ ^[a-z][a-z0-9-]{0,31}$ ]] ||
		die "CHAT_NODE_PREFIX '$NODE_PREFIX' must be a lowercase letter, then up to 31 lowercase letters, digits and -"
	SERVER=$(server_name "$SERVER") || die "--server '$SERVER': unknown web server (${WEB_SERVERS[*]})"

	PGDATA=$STACK_DIR/pg/data
	RUN_DIR=$STACK_DIR/run
	LOG_DIR=$STACK_DIR/log
	PG_LOG=$LOG_DIR/postgresql.log
	REPLICA_DATA=$STACK_DIR/pg/replica
	REPLICA_LOG=$LOG_DIR/postgresql-replica.log
	CHAT_CONF=$STACK_DIR/chat.conf
	JWT_SECRET=$STACK_DIR/jwt_secret
	# chat-fcgi on its own behind nginx and Apache (lighttpd uses
	# chat-fcgi.sock-0, -1... for the processes it spawns).
	FCGI_SOCKET=$RUN_DIR/chat-fcgi.sock
	FCGI_PIDFILE=$RUN_DIR/chat-fcgi.pid
	FCGI_LOG=$LOG_DIR/chat-fcgi.log
	if [[ -n $DB_HOST ]]; then
		CONNINFO="host=$DB_HOST dbname=$DB_NAME user=$DB_ROLE"
	else
		CONNINFO="host=$RUN_DIR dbname=$DB_NAME user=$DB_ROLE"
	fi
	# The same sanitizer settings for the FastCGI processes and the daemons.
	ASAN_OPTS="detect_leaks=1:log_path=$LOG_DIR/asan:abort_on_error=0"
	UBSAN_OPTS="print_stacktrace=1:log_path=$LOG_DIR/ubsan"

	# Where the web server listens, and where a client reaches it.
	local client_host=$HOST
	case $HOST in
	0.0.0.0) client_host=127.0.0.1 ;;
	::) client_host=::1 ;;
	esac
	if [[ $HOST == *:* ]]; then
		BIND="[$HOST]"
		URL="http://[$client_host]:$PORT"
	else
		BIND=$HOST
		URL="http://$client_host:$PORT"
	fi
	WS_URL="ws://${URL#http://}$WS_PATH"
}

# server_name NAME: print the web server's name as ./stack knows it (apache
# for apache2 too); fail for an unknown one.
server_name() {
	case $1 in
	lighttpd | nginx | apache) printf '%s\n' "$1" ;;
	apache2) printf 'apache\n' ;;
	*) return 1 ;;
	esac
}

save_settings() {
	local tmp=$STACK_DIR/stack.env.tmp
	cat >"$tmp" <<EOF
# Written by ./stack up; read by status, down and daemon-restart.
CHAT_HOST=$HOST
CHAT_PORT=$PORT
CHAT_SERVER=$SERVER
CHAT_DAEMONS=$DAEMONS
CHAT_PUSH_PORT=$PUSH_PORT_SETTING
CHAT_DB_HOST=$DB_HOST
CHAT_NODE_PREFIX=$NODE_PREFIX
CHAT_SANITIZE=$SANITIZE
CHAT_PGBOUNCER=$PGBOUNCER_ON
CHAT_REPLICA=$REPLICA_ON
PUSH_BIN=$PUSH_RUN_BIN
EOF
	mv -f "$tmp" "$STACK_DIR/stack.env"
}

require_root() {
	[[ $EUID -eq 0 ]] || die "run as root: ./stack installs packages and runs the services as user $RUN_USER"
}
