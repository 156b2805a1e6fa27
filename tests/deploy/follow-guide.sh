#!/usr/bin/env bash
# follow-guide.sh: follow docs/DEPLOY.md on this machine, run the end-to-end
# suite through the deployment, and remove it again.
#
#   tests/deploy/follow-guide.sh [--server nginx|apache|lighttpd] [-- PYTEST ARGS]
#
# Steps 1-8 of the guide are run as written: the Debian package is built
# and installed, and its files (systemd units, web server snippets,
# example configuration, chatctl) are used, adapted only where a
# throwaway deployment must not touch the machine's own:
#   - PostgreSQL: a cluster of its own, 15/chatdeploy on port 5499, created
#     with pg_createcluster (fsync off: it is thrown away) and dropped at
#     the end; the guide's commands reach it through PGPORT=5499, and the
#     conninfo gets port=5499. The system's cluster 15/main is not touched.
#   - The package is built from a copy of the tree's files (git ls-files:
#     committed or not) in $DIR/src, without make check (DEB_BUILD_OPTIONS
#     nocheck: ./stack test runs it), installed for real (/usr/bin,
#     /usr/share/chat, /lib/systemd/system, /etc/chat) and purged at the
#     end, which removes /etc/chat. The script refuses to run on a machine
#     where chat-server is installed, or /etc/chat exists, already.
#   - /run/chat, /var/log/<server>: directories under $DIR.
#   - systemd does not run here: the ExecStartPre/ExecStart lines are read
#     from the installed units and run as user chat (setpriv, clean
#     environment, as systemd would), stderr into $DIR/log/ (the journal's
#     stand-in); %i is the daemon's port, %l the short host name.
#   - The web server gets /usr/share/chat/<server>/chat.conf rendered with sed (see
#     render_*: paths, a free loopback port instead of 80, the two daemons'
#     ports instead of 8001/8002, lighttpd's host name chat.example.org
#     made 127.0.0.1), included from a small top-level file of ours
#     instead of the distribution's (which listens on port 80 and logs to
#     /var/log); lighttpd's has the http-parseopts its file's header
#     recommends for a host of the service's own.
#   - Two push daemons, balanced by the web server as the guide's
#     section 10 shows (Apache: the commented balancer), because the suite
#     wants two.
#   - [http] cors_origins stays the example's: the suite expects it.
#   - [limits] per address are tests/e2e/address-limits' and loopback is
#     a trusted proxy ([http] trusted_proxies), as in the test stack.
# The lasting changes the guide makes to the machine are undone at the
# end: the package purged, www-data out of group chat if this script put
# it there; user chat stays.
#
# Then tests/e2e runs as user chat (so that its database connection uses
# the guide's peer authentication), without the tests marked disruptive
# or stack_cluster (-m 'not disruptive and not stack_cluster'): they stop
# and restart the stack's own cluster and daemons through ./stack, or make
# databases in that cluster as its owner, which this deployment does not
# have; and
# without the test of the daemon's pings (-k 'not silent_connection'),
# which waits three ping intervals: 30 s each in the guide's
# configuration. CHAT_SERVER names the server, for the one test whose
# answer nginx gives itself (a %00 in a path).
# Checks of our own: the package's secret is private to chat; the daemons
# and their metrics ports listen on loopback only; with one daemon
# down, WebSocket handshakes through the web server still reach the other,
# and their tokens reach no log. Everything is stopped and removed at the
# end, on failure too (trap); the logs are kept in $DIR/log after a failure.
#
# Last line: "deploy: N passed, N failed" (pytest's junit report plus our
# checks). Exit status: pytest's, or 1 when only our own checks failed.
# A running `./stack up` (port 8000, its own cluster) is not disturbed.
# shellcheck disable=SC2317 # start_$SERVER and render_$SERVER are called by name
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
DIR=/tmp/chat-deploy                    # everything of a run lives here
LOCK=/tmp/chat-deploy.lock
PG_VERSION=15
PG_CLUSTER=chatdeploy
PG_PORT=5499
PYTHON=/usr/bin/python3                 # Debian's, with Debian's modules
PORT_RANGE=(24800 24899)                # web server and daemons: free ones
E2E_TIMEOUT=600
PYTEST_M='not disruptive and not stack_cluster'
PYTEST_K='not silent_connection'
DESELECT=()

SERVER=nginx
PYTEST_ARGS=()
while (($#)); do
	case $1 in
	--server)
		SERVER=${2:-}
		shift 2 || true
		;;
	--)
		shift
		PYTEST_ARGS=("$@")
		break
		;;
	-h | --help)
		sed -n '2,/^# A running/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
		exit 0
		;;
	*)
		printf 'usage: %s [--server nginx|apache|lighttpd] [-- PYTEST ARGS]\n' "$0" >&2
		exit 2
		;;
	esac
done
case $SERVER in nginx | apache | lighttpd) ;; *)
	printf 'follow-guide: --server must be nginx, apache or lighttpd\n' >&2
	exit 2
	;;
esac

BIN=/usr/bin                            # the package's programs
UNITS=/lib/systemd/system               # its systemd units
SHARE=/usr/share/chat                   # its example configuration, snippets
ETC=/etc/chat
WEBFILES=$DIR/root/usr/local/share/chat/web # /usr/local/share/chat/web (the guide's web files)
RUN=$DIR/run/chat                       # /run/chat (RuntimeDirectory=chat)
PIDS=$DIR/run                           # pid files (systemd keeps these)
LOG=$DIR/log                            # the journal and /var/log/<server>
WEB=$DIR/web                            # the web server's own files
TEST=$DIR/test                          # the suite's junit report, HOME
CONNINFO="host=/var/run/postgresql port=$PG_PORT dbname=chat user=chat"
HOST_SHORT=$(hostname -s)

say() { printf 'follow-guide: %s\n' "$*" >&2; }
die() {
	printf 'follow-guide: error: %s\n' "$*" >&2
	exit 1
}
step() { printf '\nfollow-guide: ==== %s\n' "$*" >&2; }

((EUID == 0)) || die "run as root (the guide does)"
exec 9>"$LOCK"
flock -n 9 || die "another follow-guide.sh is running"

# ---------------------------------------------------------------- processes

# pid_of FILE EXE: the pid in FILE if that process still runs EXE (a stale
# pid file of an earlier run must not make us kill a stranger).
pid_of() {
	local pid
	pid=$(head -n 1 "$1" 2>/dev/null) || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$2" ]] || return 1
	printf '%s\n' "$pid"
}

# stop_pid FILE EXE SECONDS: SIGTERM, then SIGKILL after SECONDS (the
# units' TimeoutStopSec), to the process and to children it left behind
# (KillMode=mixed).
stop_pid() {
	local file=$1 exe=$2 secs=$3 pid children i
	pid=$(pid_of "$file" "$exe") || {
		rm -f "$file"
		return 0
	}
	children=$(ps -o pid= --ppid "$pid" || true)
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$file: pid $pid still runs after ${secs}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	for i in $children; do
		kill -KILL "$i" 2>/dev/null || true
	done
	rm -f "$file"
}

# as_chat COMMAND...: as systemd runs a unit's command: user and group
# chat with chat's groups, a clean environment, cwd /, no descriptor of
# ours (9 is the lock). It replaces the calling shell: call it in a
# subshell, "(as_chat ...)" or "(as_chat ...) &" ($! is then the program's
# own pid).
as_chat() {
	cd / && exec 9>&- && exec setpriv --reuid=chat --regid=chat --init-groups -- \
		env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 "$@"
}

# unit_line UNIT KEY: the command of KEY= in the installed UNIT, with the
# paths of this deployment; %i and %l are replaced by the caller.
unit_line() {
	local line
	line=$(sed -n "s/^$2=//p" "$UNITS/$1")
	[[ -n $line ]] || die "$UNITS/$1 has no $2="
	printf '%s\n' "${line//\/run\/chat\//$RUN/}"
}

# start_unit NAME UNIT PORT: ExecStartPre, then ExecStart in the background
# with stdout and stderr into log/NAME.log; pid into run/NAME.pid.
start_unit() {
	local name=$1 unit=$2 port=${3:-} pre cmd
	pre=$(unit_line "$unit" ExecStartPre)
	cmd=$(unit_line "$unit" ExecStart)
	pre=${pre//%i/$port} pre=${pre//%l/$HOST_SHORT}
	cmd=${cmd//%i/$port} cmd=${cmd//%l/$HOST_SHORT}
	say "$name: $cmd"
	# shellcheck disable=SC2086 # the unit's command line, split as systemd does
	(as_chat $pre) >>"$LOG/$name.log" 2>&1 || die "$name: ExecStartPre failed (log/$name.log)"
	# shellcheck disable=SC2086
	(as_chat $cmd) </dev/null >>"$LOG/$name.log" 2>&1 &
	echo $! >"$PIDS/$name.pid"
}

wait_tcp() {
	local port=$1 i
	for ((i = 0; i < 100; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

free_ports() {
	local n=$1 p found=()
	for ((p = PORT_RANGE[0]; p <= PORT_RANGE[1] && ${#found[@]} < n; p++)); do
		ss -Htln "sport = :$p" | grep -q . || found+=("$p")
	done
	((${#found[@]} == n)) || die "no $n free ports in ${PORT_RANGE[*]}"
	printf '%s\n' "${found[@]}"
}

# ------------------------------------------------------------------ teardown

WWW_DATA_ADDED=0
RC=1            # the status teardown reports on; set before it runs
INSTALLED=$DIR/installed-chat-server    # there while the package may be

# teardown: stop the web server (whichever an earlier run left too), the
# daemons, chat-fcgi; drop the cluster; undo www-data's group; remove $DIR,
# but for its logs after a failure.
teardown() {
	set +e
	step "teardown"
	stop_pid "$WEB/nginx.pid" /usr/sbin/nginx 15
	stop_pid "$WEB/run/apache2.pid" /usr/sbin/apache2 15
	stop_pid "$WEB/lighttpd.pid" /usr/sbin/lighttpd 15
	local f
	for f in "$PIDS"/push-*.pid; do
		[[ -e $f ]] && stop_pid "$f" "$BIN/chat-push" 15
	done
	stop_pid "$PIDS/chat-fcgi.pid" "$BIN/chat-fcgi" 15
	kill_strays
	if [[ -e $INSTALLED ]]; then
		if dpkg --purge chat-server >>"$LOG/apt.log" 2>&1; then
			say "package chat-server purged"
		else
			say "dpkg --purge chat-server failed (log/apt.log)"
		fi
		rm -f "$INSTALLED"
	fi
	drop_cluster
	if ((WWW_DATA_ADDED)); then
		gpasswd -d www-data chat >/dev/null && say "www-data left group chat again"
		WWW_DATA_ADDED=0
	fi
	if ((RC != 0)) && [[ -d $LOG ]]; then
		find "$DIR" -mindepth 1 -maxdepth 1 ! -name log -exec rm -rf {} +
		say "logs kept in $LOG"
	else
		rm -rf "$DIR"
	fi
	set -e
}

# kill_strays: any process still running one of the package's programs
# (a pid file lost, a daemon restarted by a test): nothing else on the
# machine runs them, since the package was not installed before.
kill_strays() {
	local exe pid
	for exe in /proc/[0-9]*/exe; do
		pid=${exe#/proc/} pid=${pid%/exe}
		case $(readlink "$exe" 2>/dev/null) in
		"$BIN/chat-fcgi" | "$BIN/chat-push") ;;
		*) continue ;;
		esac
		say "stray process $pid ($(readlink "$exe")): SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	done
}

drop_cluster() {
	if pg_lsclusters -h "$PG_VERSION" "$PG_CLUSTER" >/dev/null 2>&1; then
		pg_dropcluster "$PG_VERSION" "$PG_CLUSTER" --stop ||
			say "pg_dropcluster $PG_VERSION $PG_CLUSTER failed"
	fi
}

# An earlier run that was killed outright: the same cleanup first.
if [[ -d $DIR ]]; then
	say "removing what an earlier run left in $DIR"
	RC=0 teardown
fi
# A failure before the end: tear down, and still end with the count line.
trap 'RC=$?; teardown; printf "deploy: 0 passed, 1 failed\n"' EXIT
trap 'exit 130' INT TERM

mkdir -p "$DIR" "$PIDS" "$LOG" "$WEB" "$TEST"
chmod 755 "$DIR" "$PIDS" "$LOG" "$WEB"

# ------------------------------------------------------------ 1. packages

step "1. packages"
# The build's (the guide's step 1), the guide's PostgreSQL, the suite's.
pkgs=(build-essential debhelper pkg-config libfcgi-dev libpq-dev libjson-c-dev
	libjwt-dev libcrypt-dev libinih-dev libwebsockets-dev libev-dev postgresql-15
	python3-pytest python3-requests python3-websockets python3-psycopg2
	python3-yaml python3-jsonschema)
# The guide's Node.js and npm for web/, unless the machine has them.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
case $SERVER in
nginx) pkgs+=(nginx-light) ;;
apache) pkgs+=(apache2) ;;
lighttpd) pkgs+=(lighttpd) ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	say "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >"$LOG/apt.log" 2>&1 ||
		die "apt-get install failed (log/apt.log)"
fi

# ------------------------------------------------ 1-2. package, install

step "1. build the package (in $DIR/src)"
if dpkg-query -W -f '${Status}' chat-server 2>/dev/null | grep -q 'ok installed'; then
	die "package chat-server is installed on this machine: this test would purge it"
fi
[[ ! -e $ETC ]] || die "$ETC exists on this machine: this test would replace it"
mkdir -p "$DIR/src/chat"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$DIR/src/chat" ||
	die "cannot copy the tree's files (is $ROOT a git checkout?)"
(cd "$DIR/src/chat" && exec 9>&- &&
	DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" dpkg-buildpackage -b -us -uc) >"$LOG/build.log" 2>&1 ||
	die "dpkg-buildpackage failed (log/build.log)"
debs=("$DIR"/src/chat-server_*_*.deb)
[[ -f ${debs[0]} ]] || die "dpkg-buildpackage made no chat-server package (log/build.log)"

step "2. install ${debs[0]##*/}"
touch "$INSTALLED"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${debs[0]}" >>"$LOG/apt.log" 2>&1 9>&- ||
	die "apt-get install of the package failed (log/apt.log)"
[[ -x $BIN/chat-fcgi && -x $BIN/chat-push && -x $BIN/chatctl ]] || die "the package installed no $BIN/chat-fcgi, chat-push, chatctl"
# The static files, as the guide builds them (npm ci only when ./stack has
# not installed web/'s packages already: the same pinned versions).
(cd "$ROOT/web" && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } &&
	npm run lint && npm run build) >"$LOG/web.log" 2>&1 ||
	die "building web/ failed (log/web.log)"
install -d "$WEBFILES" && cp -R "$ROOT/web/dist/." "$WEBFILES/"
[[ -f $WEBFILES/openapi.json ]] || die "web/dist has no openapi.json"
chmod -R a+rX "$DIR/root"

# ---------------------------------------------------------------- 3. user

step "3. www-data in group chat (user chat: the package's)"
id chat >/dev/null 2>&1 || die "the package made no user chat"
if ! id -nG www-data | tr ' ' '\n' | grep -qx chat; then
	usermod -aG chat www-data
	WWW_DATA_ADDED=1
fi

# ------------------------------------------------------------ 4. database

step "4. database: cluster $PG_VERSION/$PG_CLUSTER on port $PG_PORT"
if ss -Htln "sport = :$PG_PORT" | grep -q .; then
	die "port $PG_PORT is taken"
fi
# fsync off: a throwaway cluster, and test_indexes writes 100,000 rows.
pg_createcluster "$PG_VERSION" "$PG_CLUSTER" --port "$PG_PORT" --start \
	--start-conf=manual -o fsync=off -o synchronous_commit=off >"$LOG/pg_createcluster.log" 2>&1 9>&- ||
	die "pg_createcluster failed (log/pg_createcluster.log)"
export PGPORT=$PG_PORT                  # the guide's commands, on this cluster
runuser -u postgres -- createuser chat
runuser -u postgres -- createdb -O chat chat

# check WHAT COMMAND...: a check of our own, counted in the last line.
CHECKS_PASSED=0 CHECKS_FAILED=0
check() {
	local what=$1
	shift
	if "$@"; then
		CHECKS_PASSED=$((CHECKS_PASSED + 1))
		say "check passed: $what"
	else
		CHECKS_FAILED=$((CHECKS_FAILED + 1))
		say "check FAILED: $what"
	fi
}

# ------------------------------------------------------- 5. configuration

step "5. configuration in $ETC"
install -m 0640 -o root -g chat "$SHARE/chat.conf.example" "$ETC/chat.conf"
sed -i -e "s|^conninfo = .*|conninfo = $CONNINFO|" "$ETC/chat.conf"
# Paths of this deployment: /run/chat/ is $RUN/.
sed -i "s|/run/chat/|$RUN/|g" "$ETC/chat.conf"
# The suite's clients all come from loopback: the limits per address of
# tests/e2e/address-limits, and loopback a trusted proxy, so that
# test_rate_limits.py can appear from addresses of its own.
while IFS='=' read -r key value; do
	sed -i "s|^$key = .*|$key = $value|" "$ETC/chat.conf"
done < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/tests/e2e/address-limits")
sed -i "s|^trusted_proxies =.*|trusted_proxies = 127.0.0.1 ::1|" "$ETC/chat.conf"
secret_private() {
	[[ $(stat -c '%U %a' "$ETC/jwt_secret") == "chat 600" && $(wc -c <"$ETC/jwt_secret") -eq 64 ]]
}
check "the package made a secret of 32 bytes that only chat reads" secret_private

# ---------------------------------------------------- 6. migrations, check

step "6. migrations and check"
runuser -u chat -- chatctl migrate
runuser -u chat -- chatctl check

# --------------------------------------------------------------- 7. units

step "7. units: chat-fcgi.service, chat-push@P1, chat-push@P2"
mapfile -t ports < <(free_ports 3)
WEB_PORT=${ports[0]} P1=${ports[1]} P2=${ports[2]}
install -d -m 0750 -o chat -g chat "$RUN"        # RuntimeDirectory=chat, Mode 0750
start_unit chat-fcgi chat-fcgi.service
start_unit push-1 chat-push@.service "$P1"
start_unit push-2 chat-push@.service "$P2"
for ((i = 0; i < 100; i++)); do
	[[ -S $RUN/fcgi.sock ]] && break
	sleep 0.1
done
[[ -S $RUN/fcgi.sock ]] || die "chat-fcgi made no socket (log/chat-fcgi.log)"
wait_tcp "$P1" || die "push daemon 1 does not listen on $P1 (log/push-1.log)"
wait_tcp "$P2" || die "push daemon 2 does not listen on $P2 (log/push-2.log)"
# Their metrics ports: their own plus [metrics] push_port_offset.
OFFSET=$(sed -n 's/^push_port_offset = \([0-9]*\).*/\1/p' "$ETC/chat.conf")
M1=$((P1 + OFFSET)) M2=$((P2 + OFFSET))
wait_tcp "$M1" || die "push daemon 1 serves no metrics on $M1 (log/push-1.log)"
wait_tcp "$M2" || die "push daemon 2 serves no metrics on $M2 (log/push-2.log)"
say "socket: $(stat -c '%A %U:%G' "$RUN/fcgi.sock") $RUN/fcgi.sock"

# loopback_only PORT...: every listening socket on these ports is bound to
# a loopback address.
loopback_only() {
	local port addr ok=0
	for port; do
		for addr in $(ss -Htln "sport = :$port" | awk '{print $4}'); do
			say "port $port: listening on $addr"
			[[ $addr =~ ^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]|\[::1\]):[0-9]+$ ]] || ok=1
		done
	done
	return "$ok"
}

check "the push daemons and their metrics listen on loopback only" \
	loopback_only "$P1" "$P2" "$M1" "$M2"

# ---------------------------------------------------------- 8. web server

# render CONF: the package's <server>/chat.conf with this deployment's paths and
# ports; dies when a line the substitutions need is gone from the file.
render_nginx() {
	sed -e "s|/run/chat/|$RUN/|g" -e "s|/var/log/nginx/|$LOG/|g" \
		-e "s|/usr/local/share/chat/web|$WEBFILES|g" \
		-e "s|^    listen 80\( [^;]*\)\{0,1\};|    listen 127.0.0.1:$WEB_PORT\1;|" \
		-e '/^    listen \[::\]:80[ ;]/d' \
		-e "s|^    server 127.0.0.1:8001;|    server 127.0.0.1:$P1;|" \
		-e "s|^    # server 127.0.0.1:8002;.*|    server 127.0.0.1:$P2;|" \
		"$SHARE/nginx/chat.conf"
}

# Apache: the commented balancer replaces the single WebSocket ProxyPass.
render_apache() {
	sed -e "s|/run/chat/|$RUN/|g" -e "s|\${APACHE_LOG_DIR}/|$LOG/|g" \
		-e "s|/usr/local/share/chat/web|$WEBFILES|g" \
		-e "s|^<VirtualHost \*:80>|<VirtualHost 127.0.0.1:$WEB_PORT>|" \
		-e 's|^    ProxyPass "/api/v1/chat/ws/" "http://|    #&|' \
		-e 's|^    #\(<Proxy "balancer://chatpush">\)|    \1|' \
		-e 's|^    #\(    BalancerMember "http://127\.0\.0\.1:800[12]"\)|    \1|' \
		-e 's|^    #\(    ProxySet \)|    \1|' \
		-e 's|^    #\(</Proxy>\)|    \1|' \
		-e 's|^    #\(ProxyPass "/api/v1/chat/ws/" "balancer://\)|    \1|' \
		-e "s|127\.0\.0\.1:8001|127.0.0.1:$P1|g" -e "s|127\.0\.0\.1:8002|127.0.0.1:$P2|g" \
		"$SHARE/apache/chat.conf"
}

render_lighttpd() {
	# shellcheck disable=SC2016 # $HTTP is lighttpd's, not the shell's
	sed -e "s|/run/chat/|$RUN/|g" -e "s|/var/log/lighttpd/|$LOG/lighttpd/|g" \
		-e "s|/usr/local/share/chat/web|$WEBFILES|g" \
		-e "s|/etc/lighttpd/chat-errors/|$WEB/chat-errors/|g" \
		-e "s|^\( *\)( \"host\" => \"127.0.0.1\", \"port\" => 8001 ),|\1( \"host\" => \"127.0.0.1\", \"port\" => $P1 ),|" \
		-e "s|^\( *\)# ( \"host\" => \"127.0.0.1\", \"port\" => 8002 ),|\1( \"host\" => \"127.0.0.1\", \"port\" => $P2 ),|" \
		-e 's|^\$HTTP\["host"\] =~ "^chat\\\.example\\\.org|$HTTP["host"] =~ "^127\\.0\\.0\\.1|' \
		"$SHARE/lighttpd/chat.conf"
}

# check_render FILE: every substitution took.
check_render() {
	local active
	active=$(grep -v '^[[:space:]]*#' "$1")
	if ! grep -q "127.0.0.1:$P1\|\"port\" => $P1 " <<<"$active" ||
		! grep -q "127.0.0.1:$P2\|\"port\" => $P2 " <<<"$active" ||
		! grep -qF "$RUN/fcgi.sock" <<<"$active" ||
		grep -Eq '[:" ]/run/chat/|:800[12]\b|=> 800[12] ' <<<"$active"; then
		die "etc/$SERVER/chat.conf changed: the substitutions of render_$SERVER no longer apply ($1)"
	fi
	if [[ $SERVER == lighttpd ]] && ! grep -qF '=~ "^127\.0\.0\.1(' <<<"$active"; then
		die "etc/lighttpd/chat.conf changed: its host condition was not found ($1)"
	fi
	# nginx and Apache take the guide's port in the file (lighttpd in its
	# own configuration).
	if [[ $SERVER != lighttpd ]] && ! grep -qF "127.0.0.1:$WEB_PORT" <<<"$active"; then
		die "etc/$SERVER/chat.conf changed: its listening address was not replaced ($1)"
	fi
}

start_nginx() {
	mkdir -p "$WEB/tmp"
	chown www-data "$WEB/tmp"
	render_nginx >"$WEB/chat.conf"
	check_render "$WEB/chat.conf"
	# chat.conf includes fastcgi_params by a relative name: nginx looks in
	# the directory of its -c file.
	ln -s /etc/nginx/fastcgi_params "$WEB/fastcgi_params"
	cat >"$WEB/nginx.conf" <<-EOF
		# Stands for Debian's /etc/nginx/nginx.conf (same user, same
		# server-wide access_log with \$request), without its port 80 sites.
		user www-data;
		worker_processes 2;
		pid $WEB/nginx.pid;
		error_log $LOG/nginx-error.log;
		events {
		    worker_connections 768;
		}
		http {
		    include /etc/nginx/mime.types;
		    default_type application/octet-stream;
		    access_log $LOG/nginx-access.log;
		    client_body_temp_path $WEB/tmp/body;
		    fastcgi_temp_path $WEB/tmp/fastcgi;
		    proxy_temp_path $WEB/tmp/proxy;
		    scgi_temp_path $WEB/tmp/scgi;
		    uwsgi_temp_path $WEB/tmp/uwsgi;
		    include $WEB/chat.conf;
		}
	EOF
	# The guide's edit of nginx.conf: files and connections per worker.
	sed -i -e '/^worker_processes/a worker_rlimit_nofile 20000;' \
		-e 's/^\([[:space:]]*worker_connections\) .*/\1 19000;/' "$WEB/nginx.conf"
	if ! grep -q '^worker_rlimit_nofile 20000;' "$WEB/nginx.conf" ||
		! grep -q '^ *worker_connections 19000;' "$WEB/nginx.conf"; then
		die "the guide's edit of nginx.conf did not apply to $WEB/nginx.conf"
	fi
	nginx -t -q -c "$WEB/nginx.conf" 2>&1 | tee -a "$LOG/web-start.log" >&2
	nginx -c "$WEB/nginx.conf" >>"$LOG/web-start.log" 2>&1 9>&- || die "nginx did not start (log/web-start.log)"
}

start_apache() {
	mkdir -p "$WEB/run"
	render_apache >"$WEB/chat.conf"
	check_render "$WEB/chat.conf"
	local m mods=""
	for m in mpm_event authz_core authz_host proxy proxy_http proxy_fcgi proxy_balancer alias dir mime \
		slotmem_shm lbmethod_bybusyness headers rewrite reqtimeout; do
		mods+="LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"$'\n'
	done
	cat >"$WEB/apache2.conf" <<-EOF
		# Stands for Debian's /etc/apache2/apache2.conf (same user, and the
		# server-wide log of other_vhosts_access.log with %r), without its
		# port 80 sites.
		ServerRoot /etc/apache2
		ServerName 127.0.0.1
		DefaultRuntimeDir $WEB/run
		PidFile $WEB/run/apache2.pid
		Mutex file:$WEB/run default
		Listen 127.0.0.1:$WEB_PORT
		User www-data
		Group www-data
		ErrorLog $LOG/apache-error.log
		LogLevel warn
		$mods
		# The guide's mpm_event.conf.
		StartServers 20
		ServerLimit 20
		ThreadLimit 600
		ThreadsPerChild 600
		MaxRequestWorkers 12000
		MinSpareThreads 600
		MaxSpareThreads 12000
		MaxConnectionsPerChild 0
		# Debian's mods-enabled/mime.conf (a2enmod mime).
		TypesConfig /etc/mime.types
		LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O" vhost_combined
		CustomLog $LOG/apache-other_vhosts_access.log vhost_combined
		Include $WEB/chat.conf
	EOF
	apache2 -t -f "$WEB/apache2.conf" 2>&1 | tee -a "$LOG/web-start.log" >&2
	apache2 -f "$WEB/apache2.conf" -k start >>"$LOG/web-start.log" 2>&1 9>&- ||
		die "apache2 did not start (log/web-start.log)"
}

start_lighttpd() {
	# lighttpd opens its logs as www-data (Debian: /var/log/lighttpd is
	# www-data's).
	mkdir -p "$WEB/www" "$WEB/tmp" "$LOG/lighttpd"
	chown www-data "$WEB/tmp" "$LOG/lighttpd"
	render_lighttpd >"$WEB/chat.conf"
	check_render "$WEB/chat.conf"
	# Its error answers, installed as the header of chat.conf says.
	install -d "$WEB/chat-errors"
	install -m 644 "$SHARE"/lighttpd/errors/*.html "$WEB/chat-errors/"
	cat >"$WEB/lighttpd.conf" <<-EOF
		# Stands for Debian's /etc/lighttpd/lighttpd.conf (same user),
		# without its port 80.
		server.document-root = "$WEB/www"
		server.bind          = "127.0.0.1"
		server.port          = $WEB_PORT
		server.username      = "www-data"
		server.groupname     = "www-data"
		server.pid-file      = "$WEB/lighttpd.pid"
		server.errorlog      = "$LOG/lighttpd/error.log"
		server.upload-dirs   = ( "$WEB/tmp" )
		# What the header of etc/lighttpd/chat.conf says to put in place of
		# Debian's server.http-parseopts on a host of the service's own.
		server.http-parseopts = ( "url-normalize" => "disable" )
		server.errorfile-prefix = "$WEB/chat-errors/"
		mimetype.assign         = ( ".html" => "application/json" )
		include "$WEB/chat.conf"
	EOF
	lighttpd -tt -f "$WEB/lighttpd.conf" 2>&1 | tee -a "$LOG/web-start.log" >&2
	lighttpd -f "$WEB/lighttpd.conf" >>"$LOG/web-start.log" 2>&1 9>&- ||
		die "lighttpd did not start (log/web-start.log)"
}

step "8. web server: $SERVER on 127.0.0.1:$WEB_PORT, daemons on $P1 and $P2"
"start_$SERVER"
URL=http://127.0.0.1:$WEB_PORT
for ((i = 0; i < 100; i++)); do
	code=$(curl -s -o "$TEST/health" -w '%{http_code}' "$URL/api/v1/health" || true)
	[[ $code == 200 ]] && break
	sleep 0.2
done
[[ $code == 200 ]] || die "GET /api/v1/health through $SERVER: HTTP $code"
say "GET $URL/api/v1/health: $code $(cat "$TEST/health")"

# ------------------------------------------------------ end-to-end suite

step "tests/e2e through $SERVER, as user chat (-m '$PYTEST_M' -k '$PYTEST_K' ${DESELECT[*]})"
chown chat:chat "$TEST"
xml=$TEST/e2e.xml
rc=0
(cd "$ROOT" && exec 9>&- && exec timeout --foreground -k 30 "$E2E_TIMEOUT" \
	setpriv --reuid=chat --regid=chat --init-groups -- env -i \
	PATH=/usr/bin:/bin LANG=C.UTF-8 HOME="$TEST" PYTHONDONTWRITEBYTECODE=1 \
	NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
	CHAT_URL="$URL" \
	CHAT_SERVER="$SERVER" \
	CHAT_DB="$CONNINFO" \
	CHAT_JWT_SECRET_FILE="$ETC/jwt_secret" \
	CHAT_CONFIG="$ETC/chat.conf" \
	CHAT_STACK_DIR="$DIR" \
	CHAT_WS_URL="ws://127.0.0.1:$WEB_PORT/api/v1/chat/ws/chat" \
	CHAT_PUSH_PORTS="$P1 $P2" \
	CHAT_PUSH_NODES="$HOST_SHORT-$P1 $HOST_SHORT-$P2" \
	CHAT_PUSH_PIDFILES="$PIDS/push-1.pid $PIDS/push-2.pid" \
	CHAT_PUSH_BIN="$BIN/chat-push" \
	"$PYTHON" -m pytest -q -p no:cacheprovider tests/e2e --junitxml="$xml" \
	-m "$PYTEST_M" -k "$PYTEST_K" "${DESELECT[@]}" "${PYTEST_ARGS[@]}") || rc=$?

# -------------------------------------------- our check: a daemon is down

step "check: WebSocket handshakes while push daemon 2 is down leave no token in a log"
stop_pid "$PIDS/push-2.pid" "$BIN/chat-push" 15
marker=deploycheck$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
"$PYTHON" - "$WEB_PORT" "$marker" >"$TEST/check.out" 2>&1 <<'EOF' || true
import socket, sys
port, marker = int(sys.argv[1]), sys.argv[2]
for i in range(6):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall((f"GET /api/v1/chat/ws/chat?token={marker}.{i} HTTP/1.1\r\n"
               f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n").encode())
    print(s.recv(200).split(b"\r\n", 1)[0].decode())
    s.close()
EOF
sleep 0.5
say "answers: $(paste -sd, "$TEST/check.out")"
check "with a daemon down, handshakes reach the other one (401 for a bad token)" \
	grep -q '^HTTP/1.1 401' "$TEST/check.out"
no_leak() {
	local files
	files=$(grep -rlF "$1" "$LOG") || return 0
	say "the token is in: $files"
	return 1
}
check "with a daemon down, the tokens reach no log" no_leak "$marker"

# ------------------------------------------------------------------ result

counts=$("$PYTHON" - "$xml" <<'EOF' 2>/dev/null || echo "0 0 0 0"
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
totals = [0, 0, 0, 0]
for suite in suites:
    for i, key in enumerate(("tests", "failures", "errors", "skipped")):
        totals[i] += int(suite.get(key, 0))
print(*totals)
EOF
)
read -r tests failures errors skipped <<<"$counts"
passed=$((tests - failures - errors - skipped))
failed=$((failures + errors))
((tests > 0)) || failed=$((failed + 1))          # no report, or nothing ran
((rc == 0 || failed > 0)) || failed=1            # pytest failed without a report
passed=$((passed + CHECKS_PASSED))
failed=$((failed + CHECKS_FAILED))
((CHECKS_FAILED == 0 || rc != 0)) || rc=1
((skipped == 0)) || say "$skipped tests skipped"
trap - EXIT
RC=$rc
teardown
printf 'deploy: %d passed, %d failed\n' "$passed" "$failed"
exit "$rc"
