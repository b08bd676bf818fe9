#!/usr/bin/env bash
#
# run-all.sh [--unit-only|--integration-only|--soak]
#
# Runs every unit test binary build/test/unit/test-* (cmocka, TAP output)
# and every tests/integration/test-*.sh (TAP), counts test points across all
# of them and ends with the line "N passed, N failed" (", N skipped" when
# any were skipped).  Exit status 1 if anything failed.  Each program's
# PASS/FAIL line ends with how long it ran, in seconds.
#
# --soak runs the soak tests tests/soak/test-*.sh instead (`make soak`):
# the long fault loops whose short versions are in the integration tests.
# They use tests/integration/lib.sh and are run and counted as integration
# tests are, with SOAK_TIMEOUT (default 28800 s) for each; SOAK_ITERATIONS
# (default 50) is how many faults each loop injects.
#
# Besides its "not ok" lines, a test program counts as one more failure if
#   - it exits non-zero without reporting a "not ok" (it crashed or bailed
#     out), or it timed out (UNIT_TIMEOUT / INTEGRATION_TIMEOUT /
#     SOAK_TIMEOUT seconds, default 300 / 900 / 28800: a pool fault test
#     runs minutes on a loaded machine), or
#   - it ran a different number of tests than its plan ("1..N") says, or
#   - (integration) a sanitizer report was written: each test gets
#     NETPOOL_TEST_ARTIFACTS=build/test/logs/NAME.d; tests/integration/lib.sh
#     starts netpoold with ASAN_OPTIONS/UBSAN_OPTIONS log_path pointing into
#     NAME.d/sanitizer/, so any ASan/UBSan/LeakSanitizer report of netpoold
#     (or of the CLI) is a non-empty file there.  netpoold writes its leak
#     report when it exits on topo_down's SIGTERM.
#
# Output of each program goes to build/test/logs/NAME.log and is shown when
# the program fails.  Integration tests run with NETPOOL_BIN=build/test/bin
# (the ASan/UBSan build); after each one, the runner tears down whatever
# the test may have left (for example after a SIGKILL on timeout).
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

run_unit=1
run_integration=1
run_soak=0
case "${1:-}" in
    "") ;;
    --unit-only) run_integration=0 ;;
    --integration-only) run_unit=0 ;;
    --soak) run_unit=0 run_integration=0 run_soak=1 ;;
    *) echo "usage: $0 [--unit-only|--integration-only|--soak]" >&2; exit 2 ;;
esac

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
INTEGRATION_TIMEOUT=${INTEGRATION_TIMEOUT:-900}
SOAK_TIMEOUT=${SOAK_TIMEOUT:-28800}
logdir=$top/build/test/logs
mkdir -p "$logdir"

total_pass=0
total_fail=0
total_skip=0

# Count the TAP lines of a log: sets t_pass, t_fail, t_skip, t_plan (the sum
# of all "1..N" plans; cmocka prints one per group) and t_has_plan.
tap_count() {
    local counts
    counts=$(awk '
        /^[ \t]*(not )?ok([ \t]|$)/ {
            if (tolower($0) ~ /#[ \t]*skip/) skip++
            else if ($0 ~ /^[ \t]*not ok/) fail++
            else pass++
            next
        }
        /^[ \t]*1\.\.[0-9]+/ {
            line = $0; sub(/^[ \t]*1\.\./, "", line); plan += line + 0
            has_plan = 1
            # "1..0 # SKIP reason": the whole program was skipped.
            if (line + 0 == 0 && tolower($0) ~ /#[ \t]*skip/) skipall = 1
        }
        END { printf "%d %d %d %d %d %d\n", pass, fail, skip, plan,
              has_plan, skipall }' "$1")
    read -r t_pass t_fail t_skip t_plan t_has_plan t_skip_all <<< "$counts"
}

# Show a failed program's log, indented.
show_log() {
    echo "    --- $1"
    sed 's/^/    | /' "$1"
}

# Account for one finished program.  $1 kind, $2 name, $3 exit status,
# $4 log file, $5 extra failure reason (or ""), $6 seconds it ran.
account() {
    local kind=$1 name=$2 rc=$3 log=$4 extra=$5 secs=$6 problems=()
    tap_count "$log"
    if [ "$t_skip_all" = 1 ]; then
        t_skip=$((t_skip + 1))
    fi
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        problems+=("timed out or killed (status $rc)")
    elif [ "$rc" != 0 ] && [ "$t_fail" = 0 ]; then
        problems+=("exited with status $rc but reported no failed test")
    fi
    if [ "$t_has_plan" = 0 ] && [ "$t_skip_all" = 0 ]; then
        problems+=("printed no TAP plan")
    elif [ "$t_skip_all" = 0 ] &&
        [ "$t_plan" != $((t_pass + t_fail + t_skip)) ]; then
        problems+=("planned $t_plan tests, ran $((t_pass + t_fail + t_skip))")
    fi
    [ -z "$extra" ] || problems+=("$extra")

    total_pass=$((total_pass + t_pass))
    total_skip=$((total_skip + t_skip))
    # All problems of one program count as one extra failure.
    local fail=$((t_fail + (${#problems[@]} > 0 ? 1 : 0)))
    total_fail=$((total_fail + fail))

    local summary="$t_pass passed, $t_fail failed"
    [ "$t_skip" = 0 ] || summary+=", $t_skip skipped"
    summary+="; $secs s"
    if [ "$fail" = 0 ]; then
        echo "PASS $kind/$name ($summary)"
    else
        echo "FAIL $kind/$name ($summary)"
        grep -E '^[ \t]*not ok' "$log" | grep -viE '#[ \t]*skip' |
            sed 's/^[ \t]*/    /' || true
        local p
        for p in "${problems[@]}"; do
            echo "    $kind/$name: $p"
        done
        show_log "$log"
    fi
}

# --- unit tests ----------------------------------------------------------

if [ "$run_unit" = 1 ]; then
    # A test source without its binary is a failure (not built).
    for src in tests/unit/test-*.c; do
        [ -e "$src" ] || continue
        name=$(basename "$src" .c)
        if [ ! -x "build/test/unit/$name" ]; then
            echo "FAIL unit/$name (build/test/unit/$name missing: run make test-build)"
            total_fail=$((total_fail + 1))
        fi
    done
    for bin in build/test/unit/test-*; do
        if [ ! -f "$bin" ] || [ ! -x "$bin" ]; then continue; fi
        name=$(basename "$bin")
        log=$logdir/unit-$name.log
        start=$SECONDS
        CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 \
            UBSAN_OPTIONS=print_stacktrace=1 \
            timeout -k 10 "$UNIT_TIMEOUT" "$bin" > "$log" 2>&1
        account unit "$name" $? "$log" "" $((SECONDS - start))
    done
fi

# --- integration tests ---------------------------------------------------

# run_scripts KIND TIMEOUT SCRIPT...: runs each TAP script as root in its
# own namespace prefix and state folder, then cleans up after it.
run_scripts() {
    local kind=$1 timeout=$2 script i=0 name log artifacts prefix
    local test_state rc start reports sanitizer_note f
    shift 2
    if [ "$(id -u)" != 0 ]; then
        echo "run-all: integration tests need root (network namespaces)" >&2
    fi
    for script; do
        [ -e "$script" ] || continue
        i=$((i + 1))
        name=$(basename "$script" .sh)
        log=$logdir/$name.log
        artifacts=$logdir/$name.d
        rm -rf -- "$artifacts"
        mkdir -p -- "$artifacts"
        # The runner picks the prefix and state folder, so it can clean up
        # after a test that was killed before its own teardown ran.
        prefix="npt$$x$i-"
        test_state=$(mktemp -d /tmp/netpool-test.XXXXXX)
        start=$SECONDS
        # (The braces with 2>/dev/null silence bash's "Killed" notice when
        # timeout has to SIGKILL; the test's own stderr goes to its log.)
        {
            NETPOOL_BIN=$top/build/test/bin \
                NETPOOL_TEST_PREFIX=$prefix \
                NETPOOL_TEST_STATE=$test_state \
                NETPOOL_TEST_ARTIFACTS=$artifacts \
                timeout -k 60 "$timeout" bash "$script" \
                > "$log" 2>&1 < /dev/null
            rc=$?
        } 2> /dev/null
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            echo "# run-all: timed out after ${timeout}s (status $rc)" >> "$log"
        fi
        (
            # shellcheck source=scripts/topology.sh
            source "$top/scripts/topology.sh"
            PREFIX=$prefix
            STATE=$test_state
            TOPO_LOG_ARCHIVE=$artifacts/logs
            topo_down
        ) >> "$log" 2>&1 || true
        sanitizer_note=""
        reports=$(find "$artifacts/sanitizer" -type f -size +0 2>/dev/null | sort)
        if [ -n "$reports" ]; then
            sanitizer_note="sanitizer report(s): $(echo "$reports" | tr '\n' ' ')"
            for f in $reports; do
                { echo "--- $f"; cat "$f"; } >> "$log"
            done
        fi
        account "$kind" "$name" "$rc" "$log" "$sanitizer_note" \
            $((SECONDS - start))
    done
}

if [ "$run_integration" = 1 ]; then
    run_scripts integration "$INTEGRATION_TIMEOUT" tests/integration/test-*.sh
fi

# --- soak tests ------------------------------------------------------------

if [ "$run_soak" = 1 ]; then
    export SOAK_ITERATIONS=${SOAK_ITERATIONS:-50}
    echo "# soak: SOAK_ITERATIONS=$SOAK_ITERATIONS"
    run_scripts soak "$SOAK_TIMEOUT" tests/soak/test-*.sh
fi

line="$total_pass passed, $total_fail failed"
[ "$total_skip" = 0 ] || line+=", $total_skip skipped"
echo "$line"
[ "$total_fail" = 0 ]
