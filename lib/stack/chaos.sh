# shellcheck shell=bash
# lib/stack/chaos.sh: ./stack chaos [SECONDS]: tests/chaos/chaos.py on a
# throwaway stack like the one of ./stack test (sanitizer build,
# TEST_DAEMONS push daemons), then the stack stopped and its sanitizer
# reports read. Sourced by ./stack.

CHAOS_RESULT=bench/results/chaos.json

# on_chaos_exit: an interrupted run still stops its stack.
on_chaos_exit() {
	local rc=$?
	stop_test_stack
	((rc != 0)) || rc=1
	exit "$rc"
}

cmd_chaos() {
	require_root
	local server seconds=${CHAOS_SECONDS:-$CHAOS_DEFAULT_SECONDS} rc=0 reports=0
	server=$(server_name "${OPT_SERVER:-lighttpd}")
	install_missing_packages "$(server_package "$server")"
	"$STACK_CMD" build --sanitize
	trap on_chaos_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	start_test_stack "$server" || die "the throwaway stack behind $server did not come up"
	mkdir -p "$ROOT/${CHAOS_RESULT%/*}"
	note "chaos for $seconds s behind $server (tests/chaos/chaos.py)"
	(
		cd "$ROOT"
		export_test_env "$server"
		exec "$PYTHON" tests/chaos/chaos.py --seconds "$seconds" \
			--out "$ROOT/$CHAOS_RESULT" "${PYTEST_ARGS[@]}"
	) || rc=$?
	stop_test_stack
	trap - EXIT INT TERM
	LOG_DIR=$TEST_STACK_DIR/log show_sanitizer_logs >&2 || reports=$?
	((reports == 0)) || { warn "$reports sanitizer reports"; rc=1; }
	if ((rc == 0)); then
		rm -rf "$TEST_STACK_DIR"
	else
		note "chaos stack kept in $TEST_STACK_DIR (nothing of it runs)"
	fi
	note "summary in $ROOT/$CHAOS_RESULT"
	return "$rc"
}
