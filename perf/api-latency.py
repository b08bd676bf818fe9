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
import http.client
import json
import socket
import sys
import time


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


def call(path, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": [""] + params})
    conn = UnixConnection(path)
    conn.request("POST", "/jsonrpc", body,
                 {"Content-Type": "application/json"})
    reply = json.loads(conn.getresponse().read())
    conn.close()
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


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
