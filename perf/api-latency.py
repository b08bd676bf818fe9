#!/usr/bin/env python3
"""api-latency.py SOCKET COUNT [TASK...]

Calls host.get_all_records (what `netpool host-list` calls) over
netpoold's local JSON-RPC socket one call after the other, each on a new
connection as the CLI makes it, and prints the latency of each call's
answer: "calls N p50_ms X p99_ms Y max_ms Z seconds S".  With tasks given,
it goes on past COUNT calls until every task has finished (asked every 10
calls, not counted), so that the figures cover the whole time they ran,
and prints their final status too.
"""
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "scripts"))
import netpool_rpc  # noqa: E402
import time


def call(path, method, params):
    return netpool_rpc.call(path, method, [""] + params, timeout=60)


def percentile(values, p):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def main():
    path, count, tasks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    latencies = []
    start = time.monotonic()
    pending = list(tasks)
    while len(latencies) < count or pending:
        t0 = time.perf_counter()
        call(path, "host.get_all_records", [])
        latencies.append((time.perf_counter() - t0) * 1000)
        if pending and len(latencies) % 10 == 0:
            pending = [t for t in pending
                       if call(path, "task.get_status", [t]) == "pending"]
    elapsed = time.monotonic() - start
    print(f"calls {len(latencies)} p50_ms {percentile(latencies, 50):.2f} "
          f"p99_ms {percentile(latencies, 99):.2f} "
          f"max_ms {max(latencies):.2f} seconds {elapsed:.1f}")
    for t in tasks:
        print(f"task {call(path, 'task.get_name_label', [t])} "
              f"{call(path, 'task.get_status', [t])}")


if __name__ == "__main__":
    main()
