#!/usr/bin/env python3
"""Samples every host of a pool and checks the pool's invariants.

    pool-checker.py sample OUT HOST=SOCKET...
    pool-checker.py check OUT [--domains-only]

sample: until it gets SIGTERM, asks each host's netpoold (over its local
unix socket, as root) for pool.get_status and, for each VM, where it runs,
as fast as it can, and appends one JSON line per answer to OUT: {"t0":
monotonic seconds when it asked, "t": when it was answered, "host": NAME,
"up": whether netpoold answered, "master": it acts as master, "quorate", "applied", "running": [VM
UUIDs this host runs, as its store says], "domains": [VM UUIDs of the QEMU
processes whose state folder is this host's, /run/netpool/vm/HOST/, found
in /proc after the answer]}.  A host that does not answer is up=false; its
domains are still looked for, under the host UUID it last answered with.

check: replays OUT in time order.  A sample holds between its request and
its answer, so a host's consecutive samples that agree prove an interval
(from the first answer to the last request) in which it acted as master or
ran a VM.  Prints a JSON summary {"samples", "hosts", "master_spans",
"violations": [...]}; exits 1 if two hosts' proven intervals of acting as
master, or of running one VM, overlap.  It never reports a mere sampling
artefact (one host's stale answer beside another's fresh one).  A VM runs
on a host if its store says so or a QEMU of the host runs it; with
--domains-only only QEMU processes count (HA: a host cut off and fenced
still has its store saying it runs the VM that a survivor restarted).
"""
import os
import re
import json
import signal
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "scripts"))
import netpool_rpc  # noqa: E402

stop = False


def rpc(path, method, params):
    """One JSON-RPC call over netpoold's unix socket."""
    return netpool_rpc.call(path, method, params, timeout=2)


host_uuids = {}
QEMU_UUID = re.compile(r"(?:^|\0)-uuid\0([0-9a-f-]{36})(?:\0|$)")


def domains(host):
    """VM UUIDs of the daemonized QEMUs (parent 1) in HOST's folder."""
    found = []
    if not host:
        return found
    folder = "/run/netpool/vm/%s/" % host
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid) as f:
                cmd = f.read()
            if "qemu-system" not in cmd or folder not in cmd:
                continue
            with open("/proc/%s/stat" % pid) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        m = QEMU_UUID.search(cmd)
        # While QEMU starts, the process netpoold ran waits for its daemon
        # with the same command line; it runs no guest.
        if m and ppid == "1":
            found.append(m.group(1))
    return sorted(found)


def sample_one(name, path):
    entry = {"t0": time.monotonic(), "host": name, "up": False,
             "master": False, "quorate": False, "applied": 0,
             "running": [], "domains": []}
    try:
        status = rpc(path, "pool.get_status", [""])
        host = status["host"]
        host_uuids[name] = host
        vms = rpc(path, "VM.get_all_records", [""])
        entry.update(up=True, master=status["master"],
                     quorate=status["quorate"], applied=status["applied"])
        entry["running"] = sorted(
            uuid for uuid, vm in vms.items()
            if vm.get("resident_on") == host
            and vm.get("power_state") in ("Running", "Paused"))
    except (OSError, ValueError, KeyError, RuntimeError):
        pass
    entry["domains"] = domains(host_uuids.get(name))
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


def parse(line):
    try:
        return json.loads(line)
    except ValueError:
        return None  # A line cut short when the sampler was stopped.


def intervals(entries, holds):
    """Per (host, key): the intervals in which the host certainly held key.

    A sample says what held at some instant between its request (t0) and
    its answer (t).  A run of consecutive samples of one host that all say
    it held key proves it held key from the first answer to the last
    request (assuming no flap between samples that all agree); a single
    sample proves no interval.  Returns {(host, key): [(start, end)]}.
    """
    runs = {}
    out = {}
    for e in entries:
        keys = set(holds(e))
        host = e["host"]
        for key in list(runs):
            if key[0] == host and key[1] not in keys:
                start, end = runs.pop(key)
                if start <= end:
                    out.setdefault(key, []).append((start, end))
        for k in keys:
            if (host, k) in runs:
                runs[(host, k)] = (runs[(host, k)][0], e.get("t0", e["t"]))
            else:
                runs[(host, k)] = (e["t"], e.get("t0", e["t"]))
    for key, (start, end) in runs.items():
        if start <= end:
            out.setdefault(key, []).append((start, end))
    return out


def overlaps(spans, what):
    """Violations: two hosts certainly holding the same key at once."""
    found = []
    by_key = {}
    for (host, key), ivs in spans.items():
        by_key.setdefault(key, []).extend((a, b, host) for a, b in ivs)
    for key, ivs in by_key.items():
        ivs.sort()
        for i, (a1, b1, h1) in enumerate(ivs):
            for a2, b2, h2 in ivs[i + 1:]:
                if a2 > b1:
                    break
                if h1 != h2:
                    found.append({what: key, "hosts": [h1, h2],
                                  "from": max(a1, a2), "to": min(b1, b2)})
    return found


def check(out, domains_only=False):
    with open(out) as f:
        entries = sorted((e for e in map(parse, f) if e),
                         key=lambda e: e["t"])
    masters = intervals(entries, lambda e: ["master"] if e["master"] else [])
    running = intervals(entries, lambda e: sorted(
        set(e.get("domains", []))
        | (set() if domains_only else set(e["running"]))))
    violations = overlaps(masters, "role") + overlaps(running, "vm")
    hosts = sorted({e["host"] for e in entries})
    print(json.dumps({"samples": len(entries), "hosts": hosts,
                      "master_spans": sum(len(v) for v in masters.values()),
                      "violations": violations[:20]}))
    return 1 if violations else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        hosts = [tuple(h.split("=", 1)) for h in sys.argv[3:]]
        sample(sys.argv[2], hosts)
        return 0
    if len(sys.argv) in (3, 4) and sys.argv[1] == "check":
        if len(sys.argv) == 4 and sys.argv[3] != "--domains-only":
            print(__doc__, file=sys.stderr)
            return 2
        return check(sys.argv[2], len(sys.argv) == 4)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
