#!/usr/bin/env python3
"""Carrier latency: from `ip link set PEER down|up` until netpoold's API
reports the PIF's new carrier through a waiting event.from, against the
kernel's own netlink notification seen by `ip monitor link` in the same
run (the baseline).  Prints median, p90 and max of N trials of each and
the ratio of the medians.  Runs in a private namespace with one veth NIC,
addresses from 198.18.0.0/15.  Usage: bench-carrier.py [-n TRIALS]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "scripts"))
import netpool_rpc  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rpc(sock_path, method, params, timeout=60):
    return netpool_rpc.send(sock_path, netpool_rpc.request(method, params),
                            timeout)


def read_response(s):
    return netpool_rpc.receive(s)


def call(sock_path, method, params):
    return netpool_rpc.call(sock_path, method, params, 60)


def stats(values):
    v = sorted(values)
    return (statistics.median(v), v[int(0.9 * (len(v) - 1))], v[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20)
    args = parser.parse_args()

    ns = "npbc%d" % os.getpid()
    work = tempfile.mkdtemp(prefix="netpool-bench-carrier.")
    sock = os.path.join(work, "s.sock")
    pidfile = os.path.join(work, "pid")
    run = lambda *c: subprocess.run(c, check=True)
    try:
        run("ip", "netns", "add", ns)
        run("ip", "-n", ns, "link", "add", "eth0", "type", "veth",
            "peer", "name", "peer0")
        for dev in ("lo", "eth0", "peer0"):
            run("ip", "-n", ns, "link", "set", dev, "up")
        run("ip", "netns", "exec", ns, os.path.join(TOP, "build/bin/netpoold"),
            "--state-dir", os.path.join(work, "st"), "--unix-socket", sock,
            "--pidfile", pidfile, "--log-file", os.path.join(work, "log"),
            "--https-port", "0", "--resync-interval", "3600", "--detach")

        pifs = call(sock, "PIF.get_all_records", [""])
        pif = next(u for u, r in pifs.items() if r["device"] == "eth0")
        monitor = subprocess.Popen(["ip", "-n", ns, "-o", "monitor", "link"],
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)

        api, kernel = [], []
        for trial in range(args.n * 2):
            up = trial % 2 == 1
            token = call(sock, "event.from", ["", ["PIF"], "", 0])["token"]
            waiter = rpc(sock, "event.from", ["", ["PIF"], token, 30])
            time.sleep(0.05)
            t0 = time.monotonic()
            run("ip", "-n", ns, "link", "set", "peer0",
                "up" if up else "down")
            # The kernel's notification for eth0's carrier.
            while True:
                line = monitor.stdout.readline()
                if "eth0" in line and (("LOWER_UP" in line) == up):
                    kernel.append(time.monotonic() - t0)
                    break
            # netpoold's: wait until an event shows the new carrier.
            while True:
                result = read_response(waiter)["result"]
                seen = [e for e in result["events"] if e["ref"] == pif
                        and e["snapshot"]["carrier"] == up]
                if seen:
                    api.append(time.monotonic() - t0)
                    break
                waiter = rpc(sock, "event.from",
                             ["", ["PIF"], result["token"], 30])
        monitor.terminate()

        a, k = stats(api), stats(kernel)
        print("bench-carrier: %d carrier changes (down and up) on a veth"
              % len(api))
        print("  netpoold event.from  median %6.1f ms  p90 %6.1f ms"
              "  max %6.1f ms" % tuple(x * 1e3 for x in a))
        print("  ip monitor (kernel)  median %6.1f ms  p90 %6.1f ms"
              "  max %6.1f ms" % tuple(x * 1e3 for x in k))
        print("  ratio netpoold/kernel (medians): %.2f" % (a[0] / k[0]))
        return 0
    finally:
        try:
            with open(pidfile) as f:
                os.kill(int(f.read()), 15)
            time.sleep(0.3)
        except (OSError, ValueError):
            pass
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
