# shellcheck shell=bash
# lib/stack/state.sh: the system user chat, the state directory and what
# every service reads from it: the JWT secret and chat.conf. Sourced by
# ./stack.

# ---------------------------------------------------------------- user chat

ensure_user() {
	if ! id -u "$RUN_USER" >/dev/null 2>&1; then
		note "creating system user $RUN_USER"
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$RUN_USER"
	fi
}

# as_chat CMD...: run a command as user chat, from / so that no tool trips
# over a working directory it may not enter.
as_chat() {
	(cd / && runuser -u "$RUN_USER" -- "$@")
}

# reachable_for_chat SRC DEST: print a path to file SRC that user chat can
# read and execute. When the repository sits below a directory closed to
# others (such as /root), SRC is copied to DEST first.
reachable_for_chat() {
	local src=$1 dest=$2
	if as_chat test -r "$src" -a -x "$src"; then
		printf '%s\n' "$src"
		return
	fi
	install -d -m 755 "$(dirname "$dest")"
	install -C -m 755 "$src" "$dest"
	as_chat test -r "$dest" -a -x "$dest" ||
		die "user $RUN_USER can reach neither $src nor $dest: let others enter the parent directories (chmod o+x) or move the repository"
	warn "user $RUN_USER cannot reach $src (a parent directory is closed to others); using a copy in $dest"
	printf '%s\n' "$dest"
}

# prepare_dirs: the state directory; what the services write is chat's.
prepare_dirs() {
	install -d -m 755 "$STACK_DIR"
	as_chat test -x "$STACK_DIR" ||
		die "user $RUN_USER cannot enter $STACK_DIR: let others enter its parent directories (chmod o+x) or set CHAT_STACK_DIR"
	install -d -o "$RUN_USER" -g "$RUN_USER" -m 700 "$STACK_DIR/pg" "$RUN_DIR" "$STACK_DIR/tmp"
	install -d -o "$RUN_USER" -g "$RUN_USER" -m 755 "$LOG_DIR"
	install -d -m 755 "$STACK_DIR/www"
}

# ---------------------------------------------------------------- secret and config

# ensure_jwt_secret: 32 random bytes as 64 hex characters, created once,
# readable by chat only from the first moment. Never printed.
ensure_jwt_secret() {
	if [[ ! -s $JWT_SECRET ]]; then
		note "generating the JWT secret in $JWT_SECRET"
		local tmp=$JWT_SECRET.tmp
		(
			umask 077
			rm -f "$tmp"
			od -An -vtx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp"
		)
		[[ $(wc -c <"$tmp") -eq 64 ]] || die "could not read 32 bytes from /dev/urandom"
		chown "$RUN_USER:$RUN_USER" "$tmp"
		mv -f "$tmp" "$JWT_SECRET"
	fi
	chown "$RUN_USER:$RUN_USER" "$JWT_SECRET"
	chmod 600 "$JWT_SECRET"
}

# write_chat_conf: etc/chat.conf.example with the database and the secret
# of this stack (chat-fcgi through PgBouncer with --pgbouncer, history and
# search from the replica with --replica), the push daemons on loopback, and chat-fcgi's metrics file
# in its run directory; every other key keeps its
# default (each daemon gets its node id and port on its command line), but
# for CHAT_PRESENCE_TIMEOUT and CHAT_PUSH_PING, which the test stack sets
# short so that presence and ping tests take seconds, not minutes, and
# CHAT_TRUSTED_PROXIES (http.trusted_proxies), which the test stack sets to
# loopback so that a test can appear from other addresses (X-Forwarded-For).
# Every client of a stack comes from one address: the limits per address
# are raised (CONTRACT §12), to CHAT_ADDRESS_LIMITS ("key=value ..." of
# section limits) or else STACK_ADDRESS_LIMITS; the limits per account keep
# their defaults.
STACK_ADDRESS_LIMITS="login_failures_per_address=1000000 registrations_per_address=1000000"

write_chat_conf() {
	local example=$ROOT/etc/chat.conf.example tmp=$CHAT_CONF.tmp
	[[ -f $example ]] || die "$example is missing"
	local fcgi_conninfo='' pooled=0 replica=''
	if ((PGBOUNCER_ON)); then
		fcgi_conninfo=$(pgbouncer_conninfo)
		pooled=1
	fi
	((REPLICA_ON)) && replica=$(replica_conninfo)
	awk -v conninfo="$CONNINFO" -v secret="$JWT_SECRET" -v push_host="$PUSH_HOST" \
	    -v fcgi_conninfo="$fcgi_conninfo" -v pooled="$pooled" -v replica="$replica" \
	    -v metrics_file="$RUN_DIR/fcgi-metrics" \
	    -v presence_timeout="${CHAT_PRESENCE_TIMEOUT:-}" -v ping="${CHAT_PUSH_PING:-}" \
	    -v proxies="${CHAT_TRUSTED_PROXIES:-}" -v limits="${CHAT_ADDRESS_LIMITS:-$STACK_ADDRESS_LIMITS}" '
		BEGIN { print "; Written by ./stack up from etc/chat.conf.example: edits are overwritten." }
		/^[ \t]*\[/ { section = $0; gsub(/[][ \t]/, "", section) }
		section == "database" && /^[ \t]*conninfo[ \t]*=/ { print "conninfo = " conninfo; done++; next }
		section == "database" && /^[ \t]*fcgi_conninfo[ \t]*=/ { print "fcgi_conninfo = " fcgi_conninfo; next }
		section == "database" && /^[ \t]*pooled[ \t]*=/ { print "pooled = " pooled; next }
		section == "database" && /^[ \t]*replica_conninfo[ \t]*=/ { print "replica_conninfo = " replica; next }
		section == "auth" && /^[ \t]*jwt_secret_file[ \t]*=/ { print "jwt_secret_file = " secret; done++; next }
		section == "push" && /^[ \t]*listen_address[ \t]*=/ { print "listen_address = " push_host; next }
		section == "metrics" && /^[ \t]*fcgi_file[ \t]*=/ { print "fcgi_file = " metrics_file; next }
		section == "presence" && presence_timeout != "" && /^[ \t]*node_timeout_seconds[ \t]*=/ { print "node_timeout_seconds = " presence_timeout; next }
		section == "push" && ping != "" && /^[ \t]*ping_seconds[ \t]*=/ { print "ping_seconds = " ping; next }
		section == "http" && proxies != "" && /^[ \t]*trusted_proxies[ \t]*=/ { print "trusted_proxies = " proxies; next }
		section == "limits" && /^[ \t]*[a-z_]+[ \t]*=/ {
			key = $0; sub(/^[ \t]*/, "", key); sub(/[ \t]*=.*/, "", key)
			if (match(" " limits " ", " " key "=[0-9]+ ")) {
				print key " = " substr(limits, RSTART + length(key) + 1, RLENGTH - length(key) - 3)
				next
			}
		}
		{ print }
		END { exit done == 2 ? 0 : 1 }
	' "$example" >"$tmp" || die "$example lacks database.conninfo or auth.jwt_secret_file"
	chmod 644 "$tmp"
	replace_if_changed "$tmp" "$CHAT_CONF"
}

# replace_if_changed NEW FILE: move NEW over FILE unless they are the same,
# so that FILE's time tells when its content last changed.
replace_if_changed() {
	if [[ -f $2 ]] && cmp -s "$1" "$2"; then
		rm -f "$1"
	else
		mv -f "$1" "$2"
	fi
}

# install_private NEW FILE: NEW, owned by $RUN_USER and readable by it
# alone, in place of FILE (replace_if_changed).
install_private() {
	chown "$RUN_USER:$RUN_USER" "$1"
	chmod 600 "$1"
	replace_if_changed "$1" "$2"
}

# check_chat_conf PROGRAM: PROGRAM -n (chat-fcgi or chat-push) must accept
# chat.conf.
check_chat_conf() {
	local out
	if ! out=$(as_chat "$1" -n -c "$CHAT_CONF" 2>&1); then
		printf '%s\n' "$out" >&2
		die "$1 -n rejected $CHAT_CONF"
	fi
}
