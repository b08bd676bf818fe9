#!/usr/bin/env bash
#
# run-all.sh [--unit-only|--integration-only|--soak]
#
# Runs every unit test binary build/test/unit/test-* (cmocka, TAP output)
# and every tests/integration/test-*.sh (TAP), INTEGRATION_JOBS (default 2)
# at a time, longest first (tests/integration/durations), except that a
# test listed there at INTEGRATION_ALONE_SECONDS (default 75) or more, or
# one that reserves hugepages, runs with nothing beside it; counts test
# points across all of them and ends with the line "N passed, N failed"
# (", N skipped" when any were skipped).  Exit status 1 if anything failed.  Each program's
# PASS/FAIL line ends with how long it ran, in seconds.
#
# --soak runs the soak tests tests/soak/test-*.sh instead (`make soak`):
# the long fault loops whose short versions are in the integration tests.
# They use tests/integration/lib.sh and are run and counted as integration
# tests are, with SOAK_TIMEOUT (default 28800 s) for each; SOAK_ITERATIONS
# (default 50) is how many faults each loop injects; SOAK_JOBS (default 1)
# run at a time.
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
INTEGRATION_JOBS=${INTEGRATION_JOBS:-2}
INTEGRATION_ALONE_SECONDS=${INTEGRATION_ALONE_SECONDS:-75}
SOAK_JOBS=${SOAK_JOBS:-1}
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

# run_one KIND TIMEOUT SCRIPT I: runs one TAP script as root in its own
# namespace prefix and state folder (I numbers it within this run), then
# cleans up after it.  Writes "STATUS SECONDS" to build/test/logs/NAME.rc.
run_one() {
    local kind=$1 timeout=$2 script=$3 i=$4 name log artifacts prefix
    local test_state rc start
    name=$(basename "$script" .sh)
    log=$logdir/$name.log
    artifacts=$logdir/$name.d
    rm -rf -- "$artifacts" "$logdir/$name.rc"
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
    echo "$rc $((SECONDS - start))" > "$logdir/$name.rc"
}

# finish KIND SCRIPT: accounts for a script run_one has run.
finish() {
    local kind=$1 name rc secs log artifacts reports sanitizer_note='' f
    name=$(basename "$2" .sh)
    log=$logdir/$name.log
    artifacts=$logdir/$name.d
    read -r rc secs < "$logdir/$name.rc" 2> /dev/null ||
        { rc=1 secs=0; echo "# run-all: the runner lost its status" >> "$log"; }
    reports=$(find "$artifacts/sanitizer" -type f -size +0 2>/dev/null | sort)
    if [ -n "$reports" ]; then
        sanitizer_note="sanitizer report(s): $(echo "$reports" | tr '\n' ' ')"
        for f in $reports; do
            { echo "--- $f"; cat "$f"; } >> "$log"
        done
    fi
    account "$kind" "$name" "$rc" "$log" "$sanitizer_note" "$secs"
}

# duration SCRIPT: the seconds its folder's "durations" file gives it (the
# last clean-clone run; 60 for a script it does not list).
duration() {
    local secs
    secs=$(awk -v n="$(basename "$1" .sh)" '$1 == n { print $2 }' \
        "$(dirname "$1")/durations" 2> /dev/null)
    echo "${secs:-60}"
}

# alone SCRIPT: true if SCRIPT runs with nothing beside it.  One that
# reserves hugepages (lib.sh's dpdk_require or dpdk_keep_hugepages)
# changes a machine-wide setting and pins its PMD to a core the others
# use.  A long one (INTEGRATION_ALONE_SECONDS or more: pools, guests under
# TCG, the reconciler's and the bonds' fault loops) keeps both cores busy:
# beside another, each took about twice as long (two at a time saved
# nothing), and the bonds' 25 ms BFD saw ovs-vswitchd stall.  The short
# ones, mostly waiting, ran two at a time in about 1.5 times their own
# time each.
alone() {
    grep -qE '^[^#]*dpdk_(require|keep_hugepages)( |$)' "$1" ||
        [ "$(duration "$1")" -ge "$INTEGRATION_ALONE_SECONDS" ]
}

# by_duration SCRIPT...: prints the scripts longest first (duration()), so
# the longest start first and JOBS runners end close together.
by_duration() {
    local script
    for script; do
        [ -e "$script" ] || continue
        echo "$(duration "$script") $script"
    done | sort -k1,1nr -k2,2 | cut -d' ' -f2-
}

# run_scripts KIND TIMEOUT JOBS SCRIPT...: runs the scripts, at most JOBS
# at a time (each in its own namespaces, so they do not meet) and the ones
# alone() names by themselves, the longest first, and accounts for each as
# it ends.
run_scripts() {
    local kind=$1 timeout=$2 jobs=$3 i=0 idx pick script done_pid
    local alone_pid='' pending=() running_pids=()
    local -A running=() solo=()
    shift 3
    if [ "$(id -u)" != 0 ]; then
        echo "run-all: integration tests need root (network namespaces)" >&2
    fi
    mapfile -t pending < <(by_duration "$@")
    for script in "${pending[@]}"; do
        if [ "$jobs" -gt 1 ] && alone "$script"; then solo[$script]=1; fi
    done
    while [ "${#pending[@]}" -gt 0 ] || [ "${#running[@]}" -gt 0 ]; do
        while [ "${#running[@]}" -lt "$jobs" ] && [ -z "$alone_pid" ]; do
            pick=
            for idx in "${!pending[@]}"; do
                if [ "${#running[@]}" -gt 0 ] &&
                    [ -n "${solo[${pending[$idx]}]:-}" ]; then
                    continue
                fi
                pick=$idx
                break
            done
            [ -n "$pick" ] || break
            script=${pending[$pick]}
            unset "pending[$pick]"
            pending=("${pending[@]}")
            i=$((i + 1))
            run_one "$kind" "$timeout" "$script" "$i" &
            running[$!]=$script
            if [ -n "${solo[$script]:-}" ]; then alone_pid=$!; fi
        done
        done_pid=
        wait -n -p done_pid
        if [ -z "$done_pid" ]; then
            # No child left to wait for (cannot happen): account for the
            # scripts still listed as running and stop.
            running_pids=("${!running[@]}")
            for done_pid in "${running_pids[@]}"; do
                finish "$kind" "${running[$done_pid]}"
                unset "running[$done_pid]"
            done
            break
        fi
        [ "$done_pid" != "$alone_pid" ] || alone_pid=
        finish "$kind" "${running[$done_pid]}"
        unset "running[$done_pid]"
    done
}

if [ "$run_integration" = 1 ]; then
    run_scripts integration "$INTEGRATION_TIMEOUT" "$INTEGRATION_JOBS" \
        tests/integration/test-*.sh
fi

# --- soak tests ------------------------------------------------------------

if [ "$run_soak" = 1 ]; then
    export SOAK_ITERATIONS=${SOAK_ITERATIONS:-50}
    echo "# soak: SOAK_ITERATIONS=$SOAK_ITERATIONS"
    run_scripts soak "$SOAK_TIMEOUT" "$SOAK_JOBS" tests/soak/test-*.sh
fi

line="$total_pass passed, $total_fail failed"
[ "$total_skip" = 0 ] || line+=", $total_skip skipped"
echo "$line"
[ "$total_fail" = 0 ]
