#!/usr/bin/env bash
#
# run-all.sh [ARG...]
#
# Runs every benchmark binary in build/perf/ (built from perf/*.c by
# `make bench`, release flags) and every perf/bench-* script, one after
# the other, and prints its output
# under a header with its name.  Any arguments go to every benchmark.
# Benchmarks report numbers only: nothing here compares them with a
# threshold.  Exit status 1 if a benchmark is missing or fails.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

failed=()
ran=0
for source in perf/*.c; do
    [ -e "$source" ] || continue
    name=$(basename "$source" .c)
    # netpool-perf is a traffic tool (build/bin), used by bench-dpdk-vif.sh.
    case $name in netpool-perf*) continue ;; esac
    bin=build/perf/$name
    echo "== $name"
    if [ ! -x "$bin" ]; then
        echo "$bin is missing: run 'make bench'" >&2
        failed+=("$name")
        continue
    fi
    ran=$((ran + 1))
    "$bin" "$@"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "== $name FAILED (exit status $rc)"
        failed+=("$name")
    fi
done

# Scripted benchmarks (they drive the release binaries in build/bin).
for script in perf/bench-*.py perf/bench-*.sh; do
    [ -e "$script" ] || continue
    name=$(basename "$script")
    echo "== $name"
    ran=$((ran + 1))
    if ! "$script"; then
        echo "== $name FAILED"
        failed+=("$name")
    fi
done

if [ "$ran" -eq 0 ] && [ "${#failed[@]}" -eq 0 ]; then
    echo "no benchmarks in perf/" >&2
    exit 1
fi
if [ "${#failed[@]}" -gt 0 ]; then
    echo "${#failed[@]} benchmark(s) failed: ${failed[*]}"
    exit 1
fi
echo "$ran benchmark(s) ran"
