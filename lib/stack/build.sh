# shellcheck shell=bash
# lib/stack/build.sh: the Debian packages the stack needs, the build trees
# (build/, build-asan/) and the programs `up` runs from them. Sourced by
# ./stack.

# ---------------------------------------------------------------- packages

PACKAGES=(
	build-essential autoconf automake pkg-config
	libfcgi-dev libpq-dev postgresql-15 libjson-c-dev libjwt-dev
	libwebsockets-dev libev-dev libcrypt-dev libinih-dev liburiparser-dev
	curl iproute2
	python3-pytest python3-requests python3-websockets python3-psycopg2
	python3-yaml python3-jsonschema
)

# server_package NAME: the Debian package of web server NAME, installed
# only when that server is asked for. apache2-bin is the server and its
# modules without Debian's apache2 service and /etc/apache2 (the stack runs
# Apache with a configuration of its own); nginx brings a service that the
# installation must not start (see install_missing_packages).
server_package() {
	case $1 in
	lighttpd) printf 'lighttpd\n' ;;
	nginx) printf 'nginx\n' ;;
	apache) printf 'apache2-bin\n' ;;
	esac
}

# install_missing_packages [PACKAGE...]: those of PACKAGES and of the
# arguments (web servers) that are not installed yet.
install_missing_packages() {
	local missing=() pkg
	for pkg in "${PACKAGES[@]}" "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) != installed ]]; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]})) || return 0

	note "installing missing packages: ${missing[*]}"
	# Package scripts would start the system's own PostgreSQL, lighttpd or
	# nginx (on ports 5432 and 80; apache2-bin has no service): keep them
	# from starting any service with a policy-rc.d (invoke-rc.d and
	# deb-systemd-invoke ask it) that refuses everything, in place of one
	# that would let them start.
	local policy=/usr/sbin/policy-rc.d saved='' added_policy=0
	if ! policy_refuses_starts "$policy"; then
		if [[ -e $policy ]]; then
			saved=$policy.stack-saved
			mv -f "$policy" "$saved"
		fi
		printf '#!/bin/sh\n# ./stack: no service starts while it installs packages\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		added_policy=1
	fi
	local rc=0
	apt-get update -q >&2 || rc=$?
	if ((rc == 0)); then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=$?
	fi
	if ((added_policy)); then
		rm -f "$policy"
		[[ -z $saved ]] || mv -f "$saved" "$policy"
	fi
	((rc == 0)) || die "apt-get failed (exit $rc) installing: ${missing[*]}"
}

# policy_refuses_starts FILE: FILE is a policy-rc.d that refuses (exit 101)
# to start each service the packages bring.
policy_refuses_starts() {
	local policy=$1 service rc
	[[ -f $policy && -x $policy ]] || return 1
	for service in postgresql lighttpd nginx apache2 apache-htcacheclean pgbouncer; do
		rc=0
		"$policy" "$service" start </dev/null >/dev/null 2>&1 || rc=$?
		((rc == 101)) || return 1
	done
}

# ---------------------------------------------------------------- build

# ensure_configure: (re)generate ./configure when it is missing or older
# than its sources.
ensure_configure() {
	[[ -f $ROOT/configure.ac && -f $ROOT/Makefile.am ]] ||
		die "no configure.ac / Makefile.am in $ROOT: nothing to build yet"
	if [[ ! -x $ROOT/configure || $ROOT/configure -ot $ROOT/configure.ac ||
		$ROOT/configure -ot $ROOT/Makefile.am ]]; then
		note "generating ./configure"
		if [[ -x $ROOT/autogen.sh ]]; then
			(cd "$ROOT" && ./autogen.sh) >&2
		else
			(cd "$ROOT" && autoreconf -fi) >&2
		fi
	fi
}

# build_tree DIR [CONFIGURE_ARGS...]: out-of-tree build in DIR; of the
# make target BUILD_TARGET when set (the default target otherwise).
build_tree() {
	local dir=$1
	shift
	ensure_configure
	mkdir -p "$dir"
	if [[ ! -f $dir/Makefile || $dir/Makefile -ot $ROOT/configure ]]; then
		note "configuring $dir${*:+ ($*)}"
		(cd "$dir" && "$ROOT/configure" "$@") >&2
	fi
	note "building $dir"
	make -C "$dir" -j2 --no-print-directory ${BUILD_TARGET:+"$BUILD_TARGET"} >&2
}

# build_dir: the build tree of this run: build-asan/ (AddressSanitizer and
# UBSan) with --sanitize, build/ otherwise.
build_dir() {
	if ((SANITIZE)); then
		printf '%s\n' "$ROOT/build-asan"
	else
		printf '%s\n' "$ROOT/build"
	fi
}

# build_run: build the tree of this run.
build_run() {
	local -a args=()
	((SANITIZE)) && args=(--enable-sanitizers)
	build_tree "$(build_dir)" "${args[@]}"
}

# select_fcgi_bin: FCGI_BIN = the binary `up` runs, built here unless
# CHAT_FCGI_BIN names one.
select_fcgi_bin() {
	if [[ -n ${CHAT_FCGI_BIN:-} ]]; then
		FCGI_BIN=$(readlink -f "$CHAT_FCGI_BIN")
		note "CHAT_FCGI_BIN set: running $FCGI_BIN, not building"
	else
		build_run
		FCGI_BIN=$(build_dir)/chat-fcgi
	fi
	[[ -x $FCGI_BIN ]] || die "no FastCGI program at $FCGI_BIN"
	safe_path "$FCGI_BIN" "the FastCGI program"
}

# select_push_bin: PUSH_BIN = the push daemon `up` runs, from the tree that
# select_fcgi_bin built, unless CHAT_PUSH_BIN names one.
select_push_bin() {
	if [[ -n ${CHAT_PUSH_BIN:-} ]]; then
		PUSH_BIN=$(readlink -f "$CHAT_PUSH_BIN")
		note "CHAT_PUSH_BIN set: running $PUSH_BIN"
	else
		PUSH_BIN=$(build_dir)/chat-push
		[[ -z ${CHAT_FCGI_BIN:-} || -x $PUSH_BIN ]] ||
			die "CHAT_FCGI_BIN set and no $PUSH_BIN was built: set CHAT_PUSH_BIN too"
	fi
	[[ -x $PUSH_BIN ]] || die "no push daemon program at $PUSH_BIN (does the build make chat-push?)"
	safe_path "$PUSH_BIN" "the push daemon program"
}
