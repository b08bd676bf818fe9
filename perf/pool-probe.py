#!/usr/bin/env python3
"""Timing probes of bench-pool.sh, over netpoold's local unix socket.

    pool-probe.py writes SOCKET N PREFIX
        N network.create calls in a row through SOCKET (one connection
        each, as a client makes them); prints "p50_ms p99_ms max_ms".
    pool-probe.py propagate SOCKET NAME PIF TAG DB...
        network.create NAME and pool.create_VLAN_from_PIF(PIF, it, TAG)
        through SOCKET (a network's bridge exists on a host once something
        of that host is on it), then waits until each OVS database DB (a
        unix socket path) has its bridge; prints the milliseconds from the
        first call to the last bridge.
    pool-probe.py write-until-ok SOCKET... --deadline S
        tries network.create through each SOCKET in turn until one is
        answered with success; prints the milliseconds it took.

Every figure is measured here; nothing is compared with a threshold.
"""
import subprocess
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "scripts"))
import netpool_rpc  # noqa: E402
import time


def rpc(path, method, params, timeout=15):
    return netpool_rpc.call(path, method, params, timeout)


def create(path, name, timeout=15):
    return rpc(path, "network.create", ["", {"name_label": name}], timeout)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cmd_writes(path, n, prefix):
    times = []
    for i in range(int(n)):
        start = time.monotonic()
        create(path, "%s-%d" % (prefix, i))
        times.append((time.monotonic() - start) * 1000)
    print("%.2f %.2f %.2f" % (percentile(times, 50), percentile(times, 99),
                              max(times)))


def has_bridge(db, bridge):
    return subprocess.run(
        ["ovs-vsctl", "--db=unix:" + db, "--timeout=5", "br-exists", bridge],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def cmd_propagate(path, name, pif, tag, *dbs):
    start = time.monotonic()
    ref = create(path, name)
    rpc(path, "pool.create_VLAN_from_PIF", ["", pif, ref, int(tag)])
    record = rpc(path, "network.get_record", ["", ref])
    bridge = record["bridge"]
    waiting = list(dbs)
    deadline = start + 60
    while waiting and time.monotonic() < deadline:
        waiting = [db for db in waiting if not has_bridge(db, bridge)]
        if waiting:
            time.sleep(0.002)
    if waiting:
        print("timeout")
        return
    print("%.1f" % ((time.monotonic() - start) * 1000))


def cmd_write_until_ok(*args):
    paths = [a for a in args if not a.startswith("--")]
    deadline = time.monotonic() + 60
    if "--deadline" in args:
        paths = list(args[:args.index("--deadline")])
        deadline = time.monotonic() + float(args[args.index("--deadline") + 1])
    start = time.monotonic()
    i = 0
    while time.monotonic() < deadline:
        path = paths[i % len(paths)]
        i += 1
        try:
            create(path, "after-loss-%d-%d" % (int(start), i), timeout=12)
            print("%.0f" % ((time.monotonic() - start) * 1000))
            return
        except (OSError, RuntimeError, ValueError):
            time.sleep(0.02)
    print("timeout")


def main():
    cmd = sys.argv[1]
    if cmd == "writes":
        cmd_writes(*sys.argv[2:5])
    elif cmd == "propagate":
        cmd_propagate(*sys.argv[2:])
    elif cmd == "write-until-ok":
        cmd_write_until_ok(*sys.argv[2:])
    else:
        sys.exit("usage: see the docstring")


if __name__ == "__main__":
    main()
