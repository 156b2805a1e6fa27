# shellcheck shell=bash
# lib/stack/fuzz.sh: ./stack fuzz, and the bounded fuzzing of ./stack test.
# The harnesses are tests/fuzz/fuzz_NAME.c, built with clang in build-fuzz/
# (configure --enable-fuzz, make fuzz); each runs with its seeds
# (tests/fuzz/corpus/NAME/), the inputs that once crashed it
# (tests/fuzz/regressions/NAME/), and tests/fuzz/NAME.dict when there is
# one. What a run adds to the corpus stays in a scratch directory; the
# input of a crash is copied into tests/fuzz/regressions/NAME/. Sourced by
# ./stack.

FUZZ_PACKAGES=(clang libclang-rt-14-dev) # clang, and libFuzzer's runtime
FUZZ_DIR=$ROOT/tests/fuzz
FUZZ_DEFAULT_SECONDS=60 # each harness, under ./stack fuzz
FUZZ_TEST_SECONDS=5     # each harness, under ./stack test

# fuzz_names: the harnesses, one name a line (tests/fuzz/fuzz_NAME.c).
fuzz_names() {
	local file name
	for file in "$FUZZ_DIR"/fuzz_*.c; do
		name=${file##*/fuzz_}
		printf '%s\n' "${name%.c}"
	done
}

# fuzz_build: build-fuzz/, the harnesses only.
fuzz_build() {
	BUILD_TARGET=fuzz build_tree "$ROOT/build-fuzz" CC=clang --enable-fuzz
}

# fuzz_run NAME SECONDS SCRATCH: replays harness NAME's seeds and
# regressions, then fuzzes it for SECONDS; new corpus entries, artifacts
# and the log go to SCRATCH. Returns non-zero when the harness crashed (or
# leaked, or ran out of time or memory on one input), after copying that
# input into tests/fuzz/regressions/NAME/.
fuzz_run() {
	local name=$1 seconds=$2 scratch=$3 rc=0
	local bin=$ROOT/build-fuzz/tests/fuzz/fuzz_$name
	local log=$scratch/$name.log regress=$FUZZ_DIR/regressions/$name
	local -a args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048
		-print_final_stats=1 -artifact_prefix="$scratch/$name-")
	[[ -f $FUZZ_DIR/$name.dict ]] && args+=(-dict="$FUZZ_DIR/$name.dict")
	mkdir -p "$scratch/corpus-$name"
	# The first directory receives the new entries: the scratch one.
	local -a dirs=("$scratch/corpus-$name" "$FUZZ_DIR/corpus/$name")
	[[ -d $regress ]] && dirs+=("$regress")

	note "fuzzing $name for $seconds s (log in $log)"
	UBSAN_OPTIONS=print_stacktrace=1 \
		timeout -k 10 $((seconds + 120)) "$bin" "${args[@]}" "${dirs[@]}" \
		>"$log" 2>&1 || rc=$?
	((rc != 0)) || return 0

	local artifact kept=0
	for artifact in "$scratch/$name"-{crash,leak,timeout,oom}-*; do
		[[ -f $artifact ]] || continue
		mkdir -p "$regress"
		cp "$artifact" "$regress/${artifact##*/"$name"-}"
		warn "fuzz_$name crashed: its input is kept in" \
			"tests/fuzz/regressions/$name/${artifact##*/"$name"-}" \
			"(replay: build-fuzz/tests/fuzz/fuzz_$name FILE)"
		kept=1
	done
	((kept)) || warn "fuzz_$name exited $rc without a crash input"
	show_log_tail "$log" 40
	return 1
}

cmd_fuzz() {
	require_root
	local seconds=$FUZZ_DEFAULT_SECONDS name failed=0 scratch
	local -a names=()
	if ((${#FUZZ_ARGS[@]})) && [[ ${FUZZ_ARGS[0]} =~ ^[0-9]+$ ]]; then
		seconds=${FUZZ_ARGS[0]}
		names=("${FUZZ_ARGS[@]:1}")
	else
		names=("${FUZZ_ARGS[@]}")
	fi
	((seconds > 0)) || die "fuzz: the seconds must be a number above 0"
	((${#names[@]})) || mapfile -t names < <(fuzz_names)
	for name in "${names[@]}"; do
		[[ -f $FUZZ_DIR/fuzz_$name.c ]] ||
			die "fuzz: no harness $name (harnesses: $(fuzz_names | tr '\n' ' '))"
	done
	install_missing_packages "${FUZZ_PACKAGES[@]}"
	fuzz_build
	scratch=$(mktemp -d /tmp/chat-fuzz.XXXXXX)
	for name in "${names[@]}"; do
		fuzz_run "$name" "$seconds" "$scratch" || failed=1
	done
	if ((failed)); then
		note "fuzzing found problems; logs and new corpus entries in $scratch"
		return 1
	fi
	rm -rf "$scratch"
	note "fuzzed ${names[*]} for $seconds s each: no crash"
}

# fuzz_tests: ./stack test's bounded run: every harness replays its seeds
# and regressions and fuzzes for FUZZ_TEST_SECONDS (CHAT_FUZZ_SECONDS).
fuzz_tests() {
	local seconds=${CHAT_FUZZ_SECONDS:-$FUZZ_TEST_SECONDS} name scratch kept=0
	local -a names
	mapfile -t names < <(fuzz_names)
	if ! fuzz_build; then
		count "fuzz (build)" 0 1
		TEST_REPORT+=("  the build in build-fuzz failed")
		return
	fi
	scratch=$(mktemp -d /tmp/chat-fuzz.XXXXXX)
	for name in "${names[@]}"; do
		if fuzz_run "$name" "$seconds" "$scratch"; then
			count "fuzz ($name)" 1 0
		else
			count "fuzz ($name)" 0 1
			TEST_REPORT+=("  fuzz_$name crashed: see $scratch/$name.log")
			kept=1
		fi
	done
	((kept)) || rm -rf "$scratch"
}
