# shellcheck shell=bash
# lib/stack/test.sh: ./stack test: unit tests in both builds, a bounded
# run of the fuzz harnesses (lib/stack/fuzz.sh), the end-to-end suite and
# the browser tests against throwaway stacks, the deployment guide, and
# the report with its totals line. Sourced by ./stack.

TEST_PASSED=0
TEST_FAILED=0
TEST_REPORT=()

# count WHAT PASSED FAILED: add to the totals and to the report.
count() {
	TEST_PASSED=$((TEST_PASSED + $2))
	TEST_FAILED=$((TEST_FAILED + $3))
	TEST_REPORT+=("$(printf '%-30s %s ok, %s not ok' "$1:" "$2" "$3")")
}

# unit_tests DIR: make check in a build tree; test-suite.log gives the counts.
unit_tests() {
	local dir=$1 name rc=0 log
	name=$(basename "$dir")
	log=$dir/test-suite.log
	rm -f "$log"
	note "make check in $name"
	# UBSan only prints what it finds unless told to stop: a finding
	# fails the unit test that made it (AddressSanitizer stops anyway).
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		timeout -k 30 1200 make -C "$dir" -j2 --no-print-directory check >&2 || rc=$?
	if [[ ! -f $log ]]; then
		count "unit tests ($name)" 0 1
		TEST_REPORT+=("  make check in $name exited $rc without a test-suite.log")
		return
	fi
	local pass fail xfail xpass error skip
	pass=$(suite_count PASS "$log")
	xfail=$(suite_count XFAIL "$log")
	fail=$(suite_count FAIL "$log")
	xpass=$(suite_count XPASS "$log")
	error=$(suite_count ERROR "$log")
	skip=$(suite_count SKIP "$log")
	local failed=$((fail + xpass + error + skip))
	if ((rc != 0 && failed == 0)); then
		failed=1 # make check failed beyond its tests
		TEST_REPORT+=("  make check in $name exited $rc")
	fi
	((skip == 0)) || TEST_REPORT+=("  $skip skipped unit tests in $name count as failed")
	count "unit tests ($name)" $((pass + xfail)) "$failed"
	((failed == 0)) || show_log_tail "$log" 60
}

suite_count() {
	local n
	n=$(sed -n "s/^# $1: *\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1)
	printf '%s\n' "${n:-0}"
}

# free_ports N: the first port P from TEST_PORT_FIRST on with P..P+N-1 free.
free_ports() {
	local n=$1 port i free
	for ((port = TEST_PORT_FIRST; port < TEST_PORT_FIRST + 1000; port++)); do
		free=1
		for ((i = 0; i < n; i++)); do
			if [[ -n $(ss -Htln "sport = :$((port + i))") ]]; then
				free=0
				port=$((port + i)) # the next try starts after the taken one
				break
			fi
		done
		if ((free)); then
			printf '%s\n' "$port"
			return 0
		fi
	done
	die "no $n free ports in a row in $TEST_PORT_FIRST..$((TEST_PORT_FIRST + 999))"
}

# stack_env_value FILE KEY: the value of KEY in a stack.env.
stack_env_value() {
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

TEST_STACK_DIR=''
TEST_STACK_STARTED=0

# The limits per client address of the test stack (CONTRACT §12): the
# file says why these.
TEST_ADDRESS_LIMITS=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$ROOT/tests/e2e/address-limits" | tr '\n' ' ')

# test_stack CMD [ARGS...]: ./stack CMD on the throwaway stack.
test_stack() {
	CHAT_STACK_DIR=$TEST_STACK_DIR CHAT_PG_FSYNC=off CHAT_PRESENCE_TIMEOUT=6 \
	    CHAT_PUSH_PING=5 CHAT_TRUSTED_PROXIES="127.0.0.1 ::1" \
	    CHAT_ADDRESS_LIMITS="$TEST_ADDRESS_LIMITS" "$STACK_CMD" "$@"
}

stop_test_stack() {
	if ((TEST_STACK_STARTED)); then
		TEST_STACK_STARTED=0
		test_stack down || warn "could not stop the test stack in $TEST_STACK_DIR"
	fi
}

# on_test_exit: an interrupted or broken test run still stops its stack
# and ends on the totals line.
on_test_exit() {
	local rc=$?
	if ((TEST_STACK_STARTED)); then
		stop_test_stack
		note "test stack kept in $TEST_STACK_DIR (nothing of it runs)"
	fi
	if ((!TEST_SUMMARY_PRINTED)); then
		count "test run" 0 1
		TEST_REPORT+=("  the test run stopped early (exit $rc)")
		print_test_summary
	fi
	((rc != 0)) || rc=1
	exit "$rc"
}

TEST_SUMMARY_PRINTED=0

print_test_summary() {
	TEST_SUMMARY_PRINTED=1
	printf '%s\n' "${TEST_REPORT[@]}"
	printf 'total: %s passed, %s failed\n' "$TEST_PASSED" "$TEST_FAILED"
}

# e2e_round SERVER: the end-to-end suite against a fresh throwaway stack
# behind SERVER; then the stack stopped (FastCGI processes and push daemons
# write leak reports as they exit), its sanitizer reports read, and its
# directory removed unless something failed.
e2e_round() {
	local server=$1 failed_before=$TEST_FAILED reports=0
	e2e_tests "$server"
	((!TEST_STACK_STARTED)) || browser_tests "$server"
	stop_test_stack
	LOG_DIR=$TEST_STACK_DIR/log show_sanitizer_logs >&2 || reports=$?
	count "sanitizer reports ($server)" 0 "$reports"
	if ((TEST_FAILED > failed_before)); then
		note "test stack behind $server kept in $TEST_STACK_DIR (nothing of it runs)"
	else
		rm -rf "$TEST_STACK_DIR"
	fi
	TEST_STACK_DIR=''
}

# The web server whose round runs chat-fcgi through PgBouncer in
# transaction mode with history and search from a streaming replica
# (./stack up --pgbouncer --replica), so that the whole suite passes that
# way too; the other rounds connect directly.
TEST_POOLED_SERVER=apache

# test_database_options SERVER: the ./stack up options of SERVER's round.
test_database_options() {
	if [[ $1 == "$TEST_POOLED_SERVER" ]]; then
		printf '%s\n' --pgbouncer --replica
	else
		printf '%s\n' --direct
	fi
}

# start_test_stack SERVER: a new throwaway stack (sanitizer build) behind
# web server SERVER in TEST_STACK_DIR, with TEST_DAEMONS push daemons on
# the ports after its own (TEST_STACK_PORT); fails if it does not come up.
TEST_STACK_PORT=''
start_test_stack() {
	local server=$1 port
	local -a database
	mapfile -t database < <(test_database_options "$server")
	TEST_STACK_DIR=$(mktemp -d "/tmp/chat-test-$server.XXXXXX")
	chmod 755 "$TEST_STACK_DIR"
	port=$(free_ports $((TEST_DAEMONS + 1)))
	TEST_STACK_PORT=$port
	TEST_STACK_STARTED=1
	note "starting a throwaway stack behind $server in $TEST_STACK_DIR on port $port, push daemons on $((port + 1))..$((port + TEST_DAEMONS))"
	test_stack up --sanitize --host 127.0.0.1 --port "$port" --server "$server" \
		--daemons "$TEST_DAEMONS" --push-port $((port + 1)) "${database[@]}" >&2
}

# export_test_env SERVER: the environment tests/e2e (and tests/chaos) read
# to reach the throwaway stack of start_test_stack; run in a subshell.
export_test_env() {
	local server=$1 port=$TEST_STACK_PORT k push_ports='' push_nodes='' pidfiles=''
	for ((k = 1; k <= TEST_DAEMONS; k++)); do
		push_ports+="${push_ports:+ }$((port + k))"
		push_nodes+="${push_nodes:+ }node-$k"
		pidfiles+="${pidfiles:+ }$TEST_STACK_DIR/run/push-$k.pid"
	done
	export CHAT_SERVER=$server
	export CHAT_URL="http://127.0.0.1:$port"
	export CHAT_DB="host=$TEST_STACK_DIR/run dbname=$DB_NAME user=$DB_ROLE"
	export CHAT_JWT_SECRET_FILE=$TEST_STACK_DIR/jwt_secret
	export CHAT_PGDATA=$TEST_STACK_DIR/pg/data
	export CHAT_PGCTL=$PG_BIN/pg_ctl
	export CHAT_PG_LOG=$TEST_STACK_DIR/log/postgresql.log
	export CHAT_RUN_AS=$RUN_USER
	export CHAT_STACK_DIR=$TEST_STACK_DIR
	export CHAT_CONFIG=$TEST_STACK_DIR/chat.conf
	export CHAT_WS_URL="ws://127.0.0.1:$port$WS_PATH"
	export CHAT_PUSH_PORTS=$push_ports
	export CHAT_PUSH_NODES=$push_nodes
	export CHAT_PUSH_PIDFILES=$pidfiles
	CHAT_PUSH_BIN=$(stack_env_value "$TEST_STACK_DIR/stack.env" PUSH_BIN)
	export CHAT_PUSH_BIN
	export CHAT_STACK_CMD=$STACK_CMD
	if [[ $server == "$TEST_POOLED_SERVER" ]]; then
		export CHAT_PGBOUNCER_DB="host=$TEST_STACK_DIR/run port=$PGBOUNCER_PORT dbname=pgbouncer user=$DB_ROLE"
		export CHAT_REPLICA_DB="host=$TEST_STACK_DIR/run port=$REPLICA_PORT dbname=$DB_NAME user=$DB_ROLE"
		export CHAT_REPLICA_PGDATA=$TEST_STACK_DIR/pg/replica
	fi
	export NO_PROXY=127.0.0.1,localhost,::1 no_proxy=127.0.0.1,localhost,::1
	export PYTHONDONTWRITEBYTECODE=1
}

# e2e_tests SERVER: pytest against a new throwaway stack behind SERVER.
e2e_tests() {
	local server=$1
	local what="end-to-end tests ($server)"
	if ! start_test_stack "$server"; then
		count "$what" 0 1
		TEST_REPORT+=("  the test stack behind $server did not come up")
		return
	fi

	local xml=$TEST_STACK_DIR/e2e.xml rc=0
	note "running tests/e2e behind $server"
	(
		cd "$ROOT"
		export_test_env "$server"
		exec timeout --foreground -k 30 "${CHAT_E2E_TIMEOUT:-$E2E_TIMEOUT}" \
			"$PYTHON" -m pytest -q tests/e2e --junitxml="$xml" "${PYTEST_ARGS[@]}"
	) || rc=$?

	count_pytest "$what" "$xml" "$rc" "behind $server" \
		"CHAT_E2E_TIMEOUT ${CHAT_E2E_TIMEOUT:-$E2E_TIMEOUT} s"
}

# count_pytest WHAT XML RC WHERE LIMIT: count a pytest run from its JUnit
# XML and its exit status RC; WHERE tells the report which run it was
# ("behind nginx"), LIMIT what bounded its time. A skipped test, no test
# at all and a run out of time count as failed.
count_pytest() {
	local what=$1 xml=$2 rc=$3 where=$4 limit=$5
	local counts tests failures errors skipped
	if [[ -s $xml ]] && counts=$(junit_counts "$xml"); then
		read -r tests failures errors skipped <<<"$counts"
	else
		tests=0 failures=0 errors=0 skipped=0
	fi
	local passed=$((tests - failures - errors - skipped)) failed=$((failures + errors + skipped))
	((passed >= 0)) || passed=0
	if ((rc == 5 || tests == 0)); then
		failed=$((failed + 1))
		TEST_REPORT+=("  pytest collected no test ($where)")
	elif ((rc == 124 || rc == 137)); then
		failed=$((failed + 1))
		TEST_REPORT+=("  pytest ran out of time $where ($limit)")
	elif ((rc != 0 && failed == 0)); then
		failed=1
		TEST_REPORT+=("  pytest exited $rc ($where)")
	fi
	((skipped == 0)) || TEST_REPORT+=("  $skipped skipped tests $where count as failed")
	count "$what" "$passed" "$failed"
}

# multihost_tests: tests/multihost/run, which builds a database host and
# two hosts of lighttpd, chat-fcgi (through PgBouncer) and push daemons in
# network namespaces, runs tests/multihost/test_hosts.py from a client
# namespace and removes it all. Its output goes to a log, shown on failure.
multihost_tests() {
	local log xml rc=0
	log=$(mktemp /tmp/chat-multihost.XXXXXX.log)
	xml=${log%.log}.xml
	note "running tests/multihost (hosts in network namespaces; log in $log)"
	timeout --foreground -k 30 "$MULTIHOST_TIMEOUT" "$ROOT/tests/multihost/run" \
		--junitxml="$xml" </dev/null >"$log" 2>&1 || rc=$?
	if [[ ! -s $xml ]]; then
		count multihost 0 1
		TEST_REPORT+=("  tests/multihost/run stopped (exit $rc) before its tests ran: see $log")
		tail -n 40 "$log" >&2
		return
	fi
	local failed_before=$TEST_FAILED
	count_pytest multihost "$xml" "$rc" "in tests/multihost" "$MULTIHOST_TIMEOUT s"
	if ((TEST_FAILED > failed_before)); then
		tail -n 80 "$log" >&2
	else
		rm -f "$log" "$xml"
	fi
}

# browser_tests SERVER: tests/browser (node's test runner; playwright-core
# from web/node_modules driving Debian's Chromium) against the throwaway
# stack behind SERVER, after the end-to-end suite. The screenshot of each
# step is kept in tests/browser/screenshots/SERVER/ (replaced each run).
# A skipped test counts as failed, as in the end-to-end suite.
browser_tests() {
	local server=$1 out rc=0 shots=$ROOT/tests/browser/screenshots/$1
	local what="browser tests ($server)"
	out=$TEST_STACK_DIR/browser.tap
	rm -rf "$shots"
	mkdir -p "$shots"
	note "running tests/browser behind $server (screenshots in ${shots#"$ROOT"/})"
	(
		cd "$ROOT"
		export_test_env "$server"
		export CHAT_SCREENSHOTS=$shots
		exec timeout --foreground -k 10 "$BROWSER_TIMEOUT" \
			node --test --test-reporter=tap tests/browser/*.test.mjs
	) >"$out" 2>&1 || rc=$?
	local passed failed skipped
	passed=$(tap_count pass "$out")
	failed=$(tap_count fail "$out")
	skipped=$(tap_count skipped "$out")
	if ((rc != 0 && failed == 0)); then
		failed=1
		TEST_REPORT+=("  the browser tests exited $rc behind $server")
	elif ((passed + failed == 0)); then
		failed=1
		TEST_REPORT+=("  no browser test ran behind $server")
	fi
	if ((skipped > 0)); then
		failed=$((failed + skipped))
		TEST_REPORT+=("  $skipped skipped browser tests behind $server count as failed: $(sed -n 's/.*# SKIP \(.*\)/\1/p' "$out" | sort -u | paste -sd ';')")
	fi
	count "$what" "$passed" "$failed"
	((failed == 0)) || show_log_tail "$out" 80
}

# tap_count WORD FILE: N of the "# WORD N" line of node's TAP summary.
tap_count() {
	local n
	n=$(sed -n "s/^# $1 \([0-9][0-9]*\)$/\1/p" "$2" | tail -n 1)
	printf '%s\n' "${n:-0}"
}

junit_counts() {
	"$PYTHON" - "$1" <<'EOF'
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
}

# test_servers: the web servers ./stack test runs the suite behind: the
# one of --server, or all.
test_servers() {
	if [[ -n $OPT_SERVER ]]; then
		server_name "$OPT_SERVER"
	else
		printf '%s\n' "${WEB_SERVERS[@]}"
	fi
}

# deploy_round SERVER: tests/deploy/follow-guide.sh, which follows
# docs/DEPLOY.md with a Debian cluster of its own and runs the suite through
# SERVER; its last line is "deploy: N passed, N failed".
deploy_round() {
	local out line passed failed
	out=$(mktemp /tmp/chat-deploy-run.XXXXXX.log)
	note "following docs/DEPLOY.md with $1 (tests/deploy/follow-guide.sh, log in $out)"
	"$ROOT/tests/deploy/follow-guide.sh" --server "$1" </dev/null >"$out" 2>&1 || true
	line=$(tail -n 1 "$out")
	if [[ $line =~ ^deploy:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
		passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
	else
		passed=0 failed=1
		TEST_REPORT+=("  the deployment test did not finish: see $out")
	fi
	count "deployment guide ($1)" "$passed" "$failed"
	if ((failed == 0)); then
		rm -f "$out"
	else
		tail -n 40 "$out" >&2
	fi
}

cmd_test() {
	require_root
	local -a servers packages=()
	local server
	mapfile -t servers < <(test_servers)
	for server in "${servers[@]}"; do
		packages+=("$(server_package "$server")")
	done
	[[ -n ${CHAT_FCGI_BIN:-} ]] || packages+=("${FUZZ_PACKAGES[@]}")
	packages+=("${BROWSER_PACKAGES[@]}")
	install_missing_packages "${packages[@]}"
	trap on_test_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	if [[ -n ${CHAT_FCGI_BIN:-} ]]; then
		warn "CHAT_FCGI_BIN set: no build and no unit tests, end-to-end tests against $CHAT_FCGI_BIN"
		count "unit tests" 0 1
		TEST_REPORT+=("  skipped: CHAT_FCGI_BIN was set")
	else
		local tree
		for tree in build build-asan; do
			local flag=()
			[[ $tree == build-asan ]] && flag=(--sanitize)
			if "$STACK_CMD" build "${flag[@]}"; then
				unit_tests "$ROOT/$tree"
			else
				count "unit tests ($tree)" 0 1
				TEST_REPORT+=("  the build in $tree failed")
			fi
		done
		fuzz_tests
	fi

	# One fresh stack per web server, one after the other.
	for server in "${servers[@]}"; do
		if [[ -n ${CHAT_FCGI_BIN:-} || -x $ROOT/build-asan/chat-fcgi ]]; then
			e2e_round "$server"
		else
			count "end-to-end tests ($server)" 0 1
			TEST_REPORT+=("  not run: no sanitizer build of chat-fcgi")
		fi
	done
	# The deployment guide, followed on this machine, and several hosts
	# (the full run only).
	if ((${#servers[@]} > 1)) && [[ -z ${CHAT_FCGI_BIN:-} ]]; then
		deploy_round nginx
	fi
	((${#servers[@]} == 1)) || multihost_tests
	trap - EXIT INT TERM

	print_test_summary
	((TEST_FAILED == 0))
}
