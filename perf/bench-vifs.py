#!/usr/bin/env python3
"""VIF ports at scale, and what one change costs at scale, in one run on
a private OVS instance in a private namespace.

End to end: N VIFs (default 1000) created and plugged through netpoold's
API, against the same number of ports added to OVS by hand, each figure
the time until every port exists in OVS with an OpenFlow port number
(ovs-vswitchd has opened it):

  ovs-vsctl, one call per port   N `ovs-vsctl add-port` calls in a row
  ovs-vsctl, one transaction     one `ovs-vsctl add-port … -- add-port …`
  netpool API                    network.create, VM.create, then N
                                 VIF.create + VIF.plug calls (namespace
                                 guests: netpoold also makes each VIF's
                                 veth pair and moves its guest end)
  netpool API in two batches     the same N VIF.create calls in one
                                 JSON-RPC batch, then the N VIF.plug calls
                                 in another (after the first N VIFs are
                                 destroyed, so the switch is as empty)

For the one-by-one run it also prints the OVSDB transactions netpoold
sent (each makes ovs-vswitchd reconfigure all its ports) and the CPU
seconds ovs-vswitchd and netpoold used until the fabric held every change.

The two ovs-vsctl baselines add ports for veth pairs made beforehand with
one `ip -batch`, whose time is printed too: netpool's figure includes
making the veths, the baselines' do not.  The guests' namespace has IPv6
off: otherwise every guest end that comes up sends router solicitations
and MLD reports, which OVS floods to every other port of the one network,
and with 1000 ports ovs-vswitchd spends its time forwarding that (a
property of 1000 guests in one broadcast domain, not of netpool).

Per change, at 10 VIFs and at N VIFs: C cycles (default 100, after C/5
unmeasured ones) of VIF.create, VIF.plug, VIF.unplug, VIF.destroy of one
more VIF with a namespace guest (device 0 of a VM of its own), each call
a change the reconciler acts on.  Prints each API call's p50 and p99
(the client's round trip; the fabric is never waited for) and netpoold's
CPU seconds per change (utime + stime from /proc, from the first call
until host.wait_applied says the fabric holds the last change), and the
/metrics scrape median at both sizes.  netpoold
runs with a resync interval of an hour, so that these figures hold no
periodic full resync; what one full recompute costs is printed apart (the
CPU of a host other_config change, which no handler takes, median of 3).

Pool-shaped load: netpoold stops, 16 x N VIF records owned by 16 other
hosts (N VMs resident on each, each VM with VIF device 0 on the bench
network, as a pool's VMs mostly have) are written straight into its store
(SQLite), netpoold starts again (its start, a full recompute, is timed)
and the cycles at N VIFs run again: the ratio of CPU per change
with and without those records is what other hosts' objects cost this
host, and the VIF ports still in OVS after that start say that the local
VIFs were kept.  Memory: VmRSS and VmHWM after the N VIFs, and with the
pool load.
Options: -b BIN runs BIN as netpoold (another build's, to compare two
builds in one hour), -a "ARGS" adds arguments to netpoold's command line
(-a "--store-sync full" measures a flush per write, as before the
durability change), -q (quick) leaves out the one-call-per-port baseline,
which is most of the run (ovs-vswitchd reconfigures all ports on each of
its N transactions), and the pool-shaped load.
Addresses: none (ports only).
Usage: bench-vifs.py [-n N] [-c C] [-b BIN] [-a ARGS] [-q]
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import netpool_rpc  # noqa: E402
SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def call(sock_path, method, params):
    return netpool_rpc.call(sock_path, method, [""] + params)


def call_batch(sock_path, requests):
    """One JSON-RPC batch of (method, params) requests on one connection;
    returns their results in order (raises on the first error)."""
    return netpool_rpc.call_batch(
        sock_path, [(method, [""] + params) for method, params in requests])


class Bench:
    def __init__(self, n, netpoold, netpoold_args):
        self.n = n
        self.netpoold = netpoold
        self.netpoold_args = netpoold_args
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
        for key in ("all", "default"):
            self.run("ip", "netns", "exec", self.guests, "sysctl", "-qw",
                     "net.ipv6.conf.%s.disable_ipv6=1" % key)
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

    def netpoold_start(self):
        state = os.path.join(self.work, "netpoold")
        self.in_ns(self.netpoold, *self.netpoold_args,
                   "--state-dir", state, "--unix-socket", self.sock,
                   "--pidfile", self.pidfile,
                   "--log-file", os.path.join(self.work, "netpoold.log"),
                   "--log-level", "info", "--https-port", "0",
                   "--resync-interval", "3600",
                   "--ovs-db", "unix:%s/db.sock" % self.ovs, "--detach")
        with open(self.pidfile) as f:
            self.pid = int(f.read())

    def netpoold_stop(self):
        os.kill(self.pid, 15)
        for _ in range(300):
            if not os.path.exists("/proc/%d" % self.pid):
                return
            time.sleep(0.1)

    def cpu(self, pid=None):
        """netpoold's (or process 'pid''s) utime + stime in seconds."""
        with open("/proc/%d/stat" % (pid or self.pid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf(
            "SC_CLK_TCK")

    def memory(self):
        status = {}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                key, _, value = line.partition(":")
                status[key] = value.strip()
        return status["VmRSS"], status["VmHWM"]

    def wait_applied(self):
        """Waits until the fabric holds every change written so far."""
        while True:
            try:
                return call(self.sock, "host.wait_applied", ["", "", 60])
            except RuntimeError as e:
                if "TIMEOUT" not in str(e):
                    raise

    def new_vif(self, device, vm=None):
        return call(self.sock, "VIF.create", [{
            "VM": vm or self.vm, "network": self.net, "device": str(device),
            "other_config": {"netns": self.guests}}])

    def cycles(self, count, device):
        """'count' cycles of create, plug, unplug, destroy of one VIF,
        after count / 5 unmeasured ones (caches warm, as they are in the
        other phases).  Returns (call latencies in s, CPU s per change)."""
        for _ in range(count // 5):
            vif = self.new_vif(device, self.cycle_vm)
            for method in ("VIF.plug", "VIF.unplug", "VIF.destroy"):
                call(self.sock, method, [vif])
        self.wait_applied()
        latencies = []
        cpu0 = self.cpu()
        for _ in range(count):
            t = time.monotonic()
            vif = self.new_vif(device, self.cycle_vm)
            latencies.append(time.monotonic() - t)
            for method in ("VIF.plug", "VIF.unplug", "VIF.destroy"):
                t = time.monotonic()
                call(self.sock, method, [vif])
                latencies.append(time.monotonic() - t)
        self.wait_applied()
        return latencies, (self.cpu() - cpu0) / len(latencies)

    def full_recompute(self, count=3):
        """Median CPU seconds of a full recompute: a host other_config
        change, which the fabric reads and no handler takes."""
        host = call(self.sock, "host.get_all", [])[0]
        self.wait_applied()
        costs = []
        for i in range(count):
            cpu0 = self.cpu()
            call(self.sock, "host.add_to_other_config",
                 [host, "bench-resync-%d" % i, "1"])
            self.wait_applied()
            costs.append(self.cpu() - cpu0)
        for i in range(count):
            call(self.sock, "host.remove_from_other_config",
                 [host, "bench-resync-%d" % i])
        self.wait_applied()
        return statistics.median(costs)

    def scrape_median(self, count=20):
        """Median seconds of a /metrics scrape (curl's own timing)."""
        times = []
        for _ in range(count):
            out = self.in_ns("curl", "-s", "-o", "/dev/null", "-w",
                             "%{time_total}",
                             "http://127.0.0.1:9440/metrics")
            times.append(float(out))
        return statistics.median(times)

    def vswitchd_cpu(self):
        """ovs-vswitchd's utime + stime in seconds."""
        with open(os.path.join(self.ovs, "ovs-vswitchd.pid")) as f:
            return self.cpu(int(f.read()))

    def transactions(self):
        """OVSDB transactions netpoold's reconciler has sent (/metrics)."""
        out = self.in_ns("curl", "-s", "http://127.0.0.1:9440/metrics")
        for line in out.splitlines():
            if line.startswith("netpool_reconciler_ovsdb_transactions_total"):
                return int(float(line.split()[-1]))
        return 0

    def netpool(self):
        """End to end: N VIFs from none until all have an OpenFlow port."""
        t0 = time.monotonic()
        vifs = []
        for i in range(self.n):
            vif = self.new_vif(i)
            call(self.sock, "VIF.plug", [vif])
            vifs.append(vif)
        calls = time.monotonic() - t0
        while True:
            try:
                seconds = self.wait_numbered(self.bridge, t0)
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)  # The bridge is not there yet.
        return seconds, calls, vifs

    def netpool_batched(self, first_device):
        """End to end as netpool() does, with the N VIF.create calls in one
        JSON-RPC batch and the N VIF.plug calls in another."""
        t0 = time.monotonic()
        vifs = call_batch(self.sock, [
            ("VIF.create", [{"VM": self.vm, "network": self.net,
                             "device": str(first_device + i),
                             "other_config": {"netns": self.guests}}])
            for i in range(self.n)])
        call_batch(self.sock, [("VIF.plug", [vif]) for vif in vifs])
        calls = time.monotonic() - t0
        while True:
            try:
                return self.wait_numbered(self.bridge, t0), calls, vifs
            except subprocess.CalledProcessError:
                time.sleep(0.1)  # The bridge is not there yet.

    def pool_load(self, hosts=16):
        """Writes 'hosts' other hosts, each with N VMs resident there with
        one VIF (device 0) on the bench network, straight into the store
        (netpoold stopped)."""
        db = sqlite3.connect(os.path.join(self.work, "netpoold",
                                          "netpool.db"))
        rows = []
        for h in range(hosts):
            host = str(uuidlib.uuid4())
            rows.append((host, "host", host, json.dumps(
                {"name_label": "pool-" + host[:8]})))
            for i in range(self.n):
                vm = str(uuidlib.uuid4())
                rows.append((vm, "VM", host, json.dumps(
                    {"name_label": "vm%d" % i, "resident_on": host,
                     "desired_power_state": "Running",
                     "other_config": {"netpool-vif-index": str(i + 1)}})))
                rows.append((str(uuidlib.uuid4()), "VIF", host, json.dumps(
                    {"VM": vm, "network": self.net, "device": "0",
                     "MAC": "02:%02x:%02x:%02x:00:01" % (
                         h, i >> 8, i & 255),
                     "currently_attached": True})))
        db.executemany("INSERT INTO objects(uuid, class, host, record, seq)"
                       " VALUES(?, ?, ?, ?, 0)", rows)
        db.commit()
        db.close()
        return len(rows)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("-c", type=int, default=100)
    parser.add_argument("-b", default=os.path.join(TOP, "build/bin/netpoold"),
                        help="the netpoold binary to measure")
    parser.add_argument("-a", default="",
                        help="extra netpoold arguments, one string")
    parser.add_argument("-q", action="store_true",
                        help="quick: no one-call-per-port baseline, no "
                        "pool-shaped load")
    args = parser.parse_args()
    if not os.path.exists(args.b):
        print("%s is missing: run make" % args.b, file=sys.stderr)
        return 1

    b = Bench(args.n, os.path.abspath(args.b), args.a.split())
    n, c = args.n, args.c
    load0 = os.getloadavg()[0]
    try:
        b.up()
        veths = b.make_veths("a")
        separate = None if args.q else b.separate_calls()
        batched = b.one_transaction()
        b.drop_veths("a")

        b.netpoold_start()
        b.net = call(b.sock, "network.create", [{"name_label": "bench"}])
        b.bridge = call(b.sock, "network.get_bridge", [b.net])
        # The guests' VM is halted: its namespace guests live on its
        # affinity, which must be this host once other hosts exist.
        host = call(b.sock, "host.get_all", [])[0]
        b.vm = call(b.sock, "VM.create", [{"name_label": "bench",
                                           "affinity": host}])
        b.cycle_vm = call(b.sock, "VM.create", [{"name_label": "cycles",
                                                 "affinity": host}])

        # At 10 VIFs.
        small = [b.new_vif(n + i) for i in range(10)]
        for vif in small:
            call(b.sock, "VIF.plug", [vif])
        lat10, cpu10 = b.cycles(c, 0)
        scrape10 = b.scrape_median()
        for vif in small:
            call(b.sock, "VIF.destroy", [vif])
        b.wait_applied()

        # End to end, then at N VIFs.
        txns0, vcpu0, cpu0 = b.transactions(), b.vswitchd_cpu(), b.cpu()
        netpool, calls, vifs = b.netpool()
        b.wait_applied()
        txns = b.transactions() - txns0
        vcpu, npcpu = b.vswitchd_cpu() - vcpu0, b.cpu() - cpu0
        rss, hwm = b.memory()
        latn, cpun = b.cycles(c, 0)
        scrapen = b.scrape_median()
        fulln = b.full_recompute()

        # End to end again, the calls in two JSON-RPC batches.
        call_batch(b.sock, [("VIF.destroy", [vif]) for vif in vifs])
        b.wait_applied()
        batch, batch_calls, _ = b.netpool_batched(2 * n)
        b.wait_applied()
        b.netpoold_stop()

        if not args.q:
            # The same with a pool's worth of other hosts' objects.
            rows = b.pool_load()
            t0 = time.monotonic()
            b.netpoold_start()
            b.wait_applied()
            restart = time.monotonic() - t0
            kept = b.numbered(b.bridge)
            latp, cpup = b.cycles(c, 0)
            fullp = b.full_recompute()
            rssp, hwmp = b.memory()

        print("bench-vifs: %d VIF ports on a private OVS (userspace "
              "datapath), until all have an OpenFlow port" % n)
        print("  netpoold: %s %s" % (b.netpoold, " ".join(b.netpoold_args)))
        print("  load average at the start %.2f, at the end %.2f"
              % (load0, os.getloadavg()[0]))
        print("  veth pairs for the baselines (one ip -batch) %8.2f s"
              % veths)
        if separate is not None:
            print("  ovs-vsctl, one call per port               %8.2f s"
                  "  (%.1f ms/port)" % (separate, separate * 1e3 / n))
        print("  ovs-vsctl, one transaction                 %8.2f s"
              "  (%.1f ms/port)" % (batched, batched * 1e3 / n))
        print("  netpool API (VIF.create + VIF.plug, veths) %8.2f s"
              "  (%.1f ms/port; API calls done after %.2f s)"
              % (netpool, netpool * 1e3 / n, calls))
        print("    OVSDB transactions netpoold sent for them: %d; CPU "
              "ovs-vswitchd %.2f s, netpoold %.2f s" % (txns, vcpu, npcpu))
        if separate is not None:
            print("  ratio netpool / one call per port: %.2f"
                  % (netpool / separate))
        print("  ratio netpool / one transaction:   %.2f" % (netpool / batched))
        print("  ratio netpool / (one transaction + veths): %.2f"
              % (netpool / (batched + veths)))
        print("  netpool API in two JSON-RPC batches        %8.2f s"
              "  (%.1f ms/port; both batches answered after %.2f s)"
              % (batch, batch * 1e3 / n, batch_calls))
        print("  ratio batches / one transaction:   %.2f" % (batch / batched))
        print("  ratio batches / (one transaction + veths): %.2f"
              % (batch / (batched + veths)))
        print("per change: %d cycles of VIF.create, plug, unplug, destroy "
              "(%d calls)" % (c, 4 * c))
        print("  API call p50 / p99 at 10 VIFs:   %6.2f / %6.2f ms"
              % (pct(lat10, 50) * 1e3, pct(lat10, 99) * 1e3))
        print("  API call p50 / p99 at %d VIFs: %6.2f / %6.2f ms"
              % (n, pct(latn, 50) * 1e3, pct(latn, 99) * 1e3))
        print("  ratio p50 %d / 10 VIFs: %.2f, p99: %.2f"
              % (n, pct(latn, 50) / pct(lat10, 50),
                 pct(latn, 99) / pct(lat10, 99)))
        print("  netpoold CPU per change at 10 VIFs:   %6.2f ms" % (cpu10 * 1e3))
        print("  netpoold CPU per change at %d VIFs: %6.2f ms"
              % (n, cpun * 1e3))
        print("  ratio CPU per change %d / 10 VIFs: %.2f"
              % (n, cpun / cpu10 if cpu10 else float("nan")))
        print("  /metrics median at 10 VIFs: %.1f ms, at %d VIFs: %.1f ms"
              % (scrape10 * 1e3, n, scrapen * 1e3))
        print("  one full recompute at %d VIFs: %.0f ms CPU" % (n, fulln * 1e3))
        print("  netpoold memory at %d VIFs: VmRSS %s, peak VmHWM %s"
              % (n, rss, hwm))
        if args.q:
            return 0
        print("pool-shaped load: %d rows of 16 other hosts (16 x %d VMs "
              "and VIFs) in the store" % (rows, n))
        print("  netpoold start (full recompute) at %d local VIFs: %.2f s"
              % (n, restart))
        print("  VIF ports in OVS after that start: %d of %d" % (kept, n))
        print("  API call p50 / p99 with the pool load: %6.2f / %6.2f ms"
              % (pct(latp, 50) * 1e3, pct(latp, 99) * 1e3))
        print("  netpoold CPU per change with the pool load: %6.2f ms"
              % (cpup * 1e3))
        print("  ratio CPU per change with / without the pool load: %.3f"
              % (cpup / cpun if cpun else float("nan")))
        print("  one full recompute with the pool load: %.0f ms CPU "
              "(ratio %.2f)" % (fullp * 1e3, fullp / fulln if fulln
                                 else float("nan")))
        print("  with the pool load: VmRSS %s, peak VmHWM %s" % (rssp, hwmp))
        return 0
    finally:
        b.down()


if __name__ == "__main__":
    sys.exit(main())
