#!/usr/bin/env python3
"""VIF ports at scale: N VIFs (default 1000) created and plugged through
netpoold's API, against the same number of ports added to OVS by hand,
in the same run, on a private OVS instance in a private namespace.

Three figures, each the time until every port exists in OVS with an
OpenFlow port number (ovs-vswitchd has opened it):

  ovs-vsctl, one call per port   N `ovs-vsctl add-port` calls in a row
  ovs-vsctl, one transaction     one `ovs-vsctl add-port … -- add-port …`
  netpool API                    network.create, VM.create, then N
                                 VIF.create + VIF.plug calls (namespace
                                 guests: netpoold also makes each VIF's
                                 veth pair and moves its guest end)

The two ovs-vsctl baselines add ports for veth pairs made beforehand with
one `ip -batch`, whose time is printed too: netpool's figure includes
making the veths, the baselines' do not.  Prints the ratios of netpool's
time to each baseline's, and netpoold's resident memory (VmRSS, and the
peak VmHWM, from /proc) once the N VIFs are in place.  Addresses: none
(ports only).  Usage: bench-vifs.py [-n N]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def call(sock_path, method, params):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": [""] + params}).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(sock_path)
    s.sendall(b"POST /jsonrpc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    reply = json.loads(data.split(b"\r\n\r\n", 1)[1])
    if "error" in reply:
        raise RuntimeError("%s: %s" % (method, reply["error"]))
    return reply["result"]


class Bench:
    def __init__(self, n):
        self.n = n
        self.ns = "npbv%d" % os.getpid()
        self.guests = self.ns + "g"
        self.work = tempfile.mkdtemp(prefix="netpool-bench-vifs.")
        self.ovs = os.path.join(self.work, "ovs")
        self.env = dict(os.environ, OVS_RUNDIR=self.ovs, OVS_DBDIR=self.ovs,
                        OVS_LOGDIR=self.ovs, OVS_SYSCONFDIR=self.ovs)
        self.sock = os.path.join(self.work, "netpoold.sock")
        self.pidfile = os.path.join(self.work, "netpoold.pid")

    def run(self, *cmd, stdin=None, quiet=False):
        return subprocess.run(cmd, check=True, env=self.env, input=stdin,
                              stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL if quiet else None
                              ).stdout

    def in_ns(self, *cmd, stdin=None, quiet=False):
        return self.run("ip", "netns", "exec", self.ns, *cmd, stdin=stdin,
                        quiet=quiet)

    def vsctl(self, *args):
        return self.run("ovs-vsctl", "--timeout=600", *args)

    def up(self):
        os.makedirs(self.ovs)
        for ns in (self.ns, self.guests):
            self.run("ip", "netns", "add", ns)
            self.run("ip", "-n", ns, "link", "set", "lo", "up")
        db = os.path.join(self.ovs, "conf.db")
        self.run("ovsdb-tool", "create", db, SCHEMA)
        self.in_ns("ovsdb-server", db,
                   "--remote=punix:%s/db.sock" % self.ovs,
                   "--pidfile=%s/ovsdb-server.pid" % self.ovs,
                   "--log-file=%s/ovsdb-server.log" % self.ovs,
                   "--detach", "--no-chdir", "-vconsole:off", quiet=True)
        self.vsctl("--no-wait", "init")
        self.in_ns("ovs-vswitchd", "unix:%s/db.sock" % self.ovs,
                   "--pidfile=%s/ovs-vswitchd.pid" % self.ovs,
                   "--log-file=%s/ovs-vswitchd.log" % self.ovs,
                   "--detach", "--no-chdir", "-vconsole:off",
                   "-vfile:info", quiet=True)

    def down(self):
        pids = []
        for f in (self.pidfile, os.path.join(self.ovs, "ovs-vswitchd.pid"),
                  os.path.join(self.ovs, "ovsdb-server.pid")):
            try:
                with open(f) as fh:
                    pids.append(int(fh.read()))
            except (OSError, ValueError):
                pass
        for pid in pids:
            try:
                os.kill(pid, 15)
            except OSError:
                pass
            for _ in range(100):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)
        for ns in (self.ns, self.guests):
            subprocess.run(["ip", "netns", "del", ns],
                           stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", self.work])

    def numbered(self, bridge):
        """Ports of 'bridge' (its internal port aside) that have an
        OpenFlow port number."""
        out = self.vsctl("--format=json", "--columns=name,ofport", "list",
                         "Interface")
        rows = json.loads(out)["data"]
        ports = set(self.vsctl("list-ports", bridge).split())
        return sum(1 for name, ofport in rows
                   if name in ports and isinstance(ofport, int)
                   and ofport > 0)

    def wait_numbered(self, bridge, t0):
        while self.numbered(bridge) < self.n:
            time.sleep(0.05)
        return time.monotonic() - t0

    def make_veths(self, prefix):
        """N veth pairs: PREFIX<i> in the bench namespace, e<i> in the
        guests' (one `ip -batch`).  Returns the seconds it took."""
        lines = "".join(
            "link add %s%d type veth peer name e%d netns %s\n"
            "link set %s%d up\n" % (prefix, i, i, self.guests, prefix, i)
            for i in range(self.n))
        t0 = time.monotonic()
        self.run("ip", "-n", self.ns, "-batch", "-", stdin=lines)
        return time.monotonic() - t0

    def drop_veths(self, prefix):
        lines = "".join("link del %s%d\n" % (prefix, i)
                        for i in range(self.n))
        self.run("ip", "-n", self.ns, "-batch", "-", stdin=lines)

    def separate_calls(self):
        self.vsctl("add-br", "bra", "--", "set", "Bridge", "bra",
                   "datapath_type=netdev")
        t0 = time.monotonic()
        for i in range(self.n):
            self.vsctl("add-port", "bra", "a%d" % i)
        seconds = self.wait_numbered("bra", t0)
        self.vsctl("del-br", "bra")
        return seconds

    def one_transaction(self):
        self.vsctl("add-br", "brb", "--", "set", "Bridge", "brb",
                   "datapath_type=netdev")
        args = []
        for i in range(self.n):
            args += ["--", "add-port", "brb", "a%d" % i]
        t0 = time.monotonic()
        self.vsctl(*args[1:])
        seconds = self.wait_numbered("brb", t0)
        self.vsctl("del-br", "brb")
        return seconds

    def netpool(self):
        state = os.path.join(self.work, "netpoold")
        self.in_ns(os.path.join(TOP, "build/bin/netpoold"),
                   "--state-dir", state, "--unix-socket", self.sock,
                   "--pidfile", self.pidfile,
                   "--log-file", os.path.join(self.work, "netpoold.log"),
                   "--log-level", "info", "--https-port", "0",
                   "--ovs-db", "unix:%s/db.sock" % self.ovs, "--detach")
        with open(self.pidfile) as f:
            pid = int(f.read())

        t0 = time.monotonic()
        net = call(self.sock, "network.create", [{"name_label": "bench"}])
        bridge = call(self.sock, "network.get_bridge", [net])
        vm = call(self.sock, "VM.create", [{"name_label": "bench"}])
        for i in range(self.n):
            vif = call(self.sock, "VIF.create", [{
                "VM": vm, "network": net, "device": str(i),
                "other_config": {"netns": self.guests}}])
            call(self.sock, "VIF.plug", [vif])
        calls = time.monotonic() - t0
        while True:
            try:
                seconds = self.wait_numbered(bridge, t0)
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)  # The bridge is not there yet.
        status = {}
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                status[key] = value.strip()
        return seconds, calls, status["VmRSS"], status["VmHWM"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000)
    args = parser.parse_args()
    if not os.path.exists(os.path.join(TOP, "build/bin/netpoold")):
        print("build/bin/netpoold is missing: run make", file=sys.stderr)
        return 1

    b = Bench(args.n)
    try:
        b.up()
        veths = b.make_veths("a")
        separate = b.separate_calls()
        batched = b.one_transaction()
        b.drop_veths("a")
        netpool, calls, rss, hwm = b.netpool()

        n = args.n
        print("bench-vifs: %d VIF ports on a private OVS (userspace "
              "datapath), until all have an OpenFlow port" % n)
        print("  veth pairs for the baselines (one ip -batch) %8.2f s"
              % veths)
        print("  ovs-vsctl, one call per port               %8.2f s"
              "  (%.1f ms/port)" % (separate, separate * 1e3 / n))
        print("  ovs-vsctl, one transaction                 %8.2f s"
              "  (%.1f ms/port)" % (batched, batched * 1e3 / n))
        print("  netpool API (VIF.create + VIF.plug, veths) %8.2f s"
              "  (%.1f ms/port; API calls done after %.2f s)"
              % (netpool, netpool * 1e3 / n, calls))
        print("  ratio netpool / one call per port: %.2f" % (netpool / separate))
        print("  ratio netpool / one transaction:   %.2f" % (netpool / batched))
        print("  ratio netpool / (one transaction + veths): %.2f"
              % (netpool / (batched + veths)))
        print("  netpoold memory at %d VIFs: VmRSS %s, peak VmHWM %s"
              % (n, rss, hwm))
        return 0
    finally:
        b.down()


if __name__ == "__main__":
    sys.exit(main())
