#!/usr/bin/env python3
"""Samples every host of a pool and checks the pool's invariants.

    pool-checker.py sample OUT HOST=SOCKET...
    pool-checker.py check OUT

sample: until it gets SIGTERM, asks each host's netpoold (over its local
unix socket, as root) for pool.get_status and, for each VM, where it runs,
as fast as it can, and appends one JSON line per answer to OUT: {"t":
monotonic seconds, "host": NAME, "up": whether netpoold answered,
"master": it acts as master, "quorate", "applied", "running": [VM
UUIDs this host runs]}.  A host that does not answer is up=false.

check: replays OUT in time order, keeping each host's last answer, and
after every answer counts the hosts that act as master and, for every
VM, the hosts that run it.  Prints a JSON summary {"samples", "hosts",
"max_masters", "max_copies", "violations": [...]}; exits 1 if at any
sampled instant two hosts acted as master or a VM ran on two hosts.
"""
import json
import signal
import socket
import sys
import time

stop = False


def rpc(path, method, params):
    """One JSON-RPC call over netpoold's unix socket (HTTP/1.0)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": params}).encode()
    request = (b"POST /jsonrpc HTTP/1.0\r\nContent-Type: application/json"
               b"\r\nContent-Length: " + str(len(body)).encode()
               + b"\r\n\r\n" + body)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(path)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    _, _, payload = data.partition(b"\r\n\r\n")
    answer = json.loads(payload)
    if "error" in answer and answer["error"]:
        raise RuntimeError(answer["error"])
    return answer["result"]


def sample_one(name, path):
    entry = {"t": time.monotonic(), "host": name, "up": False,
             "master": False, "quorate": False, "applied": 0,
             "running": []}
    try:
        status = rpc(path, "pool.get_status", [""])
        host = status["host"]
        vms = rpc(path, "VM.get_all_records", [""])
        entry.update(up=True, master=status["master"],
                     quorate=status["quorate"], applied=status["applied"])
        entry["running"] = sorted(
            uuid for uuid, vm in vms.items()
            if vm.get("resident_on") == host
            and vm.get("power_state") in ("Running", "Paused"))
    except (OSError, ValueError, KeyError, RuntimeError):
        pass
    entry["t"] = time.monotonic()
    return entry


def sample(out, hosts):
    def on_term(signo, frame):
        global stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    with open(out, "a") as f:
        while not stop:
            for name, path in hosts:
                f.write(json.dumps(sample_one(name, path)) + "\n")
            f.flush()
            time.sleep(0.02)


def check(out):
    with open(out) as f:
        entries = sorted((json.loads(line) for line in f if line.strip()),
                         key=lambda e: e["t"])
    last = {}
    violations = []
    max_masters = max_copies = 0
    for e in entries:
        last[e["host"]] = e
        masters = sorted(h for h, s in last.items() if s["master"])
        max_masters = max(max_masters, len(masters))
        if len(masters) > 1:
            violations.append({"t": e["t"], "masters": masters})
        copies = {}
        for h, s in last.items():
            for vm in s["running"]:
                copies.setdefault(vm, []).append(h)
        for vm, where in copies.items():
            max_copies = max(max_copies, len(where))
            if len(where) > 1:
                violations.append({"t": e["t"], "vm": vm, "hosts": where})
    print(json.dumps({"samples": len(entries), "hosts": sorted(last),
                      "max_masters": max_masters, "max_copies": max_copies,
                      "violations": violations[:20]}))
    return 1 if violations else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        hosts = [tuple(h.split("=", 1)) for h in sys.argv[3:]]
        sample(sys.argv[2], hosts)
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        return check(sys.argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
