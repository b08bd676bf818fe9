#!/usr/bin/env python3
"""Random operations for test-reconcile.sh, over netpoold's JSON-RPC API
(one process for many calls: the test's time goes to netpoold, not to
starting CLIs).

  reconcile-ops.py STATE FIRST LAST

STATE is a JSON file holding the setup (socket, OVSDB socket, seed, the
networks, VMs, PIFs and guest namespaces to use) and what the operations
left behind (VIF slots, the VLAN, the bond, counters); it is read and
written back.  Operations FIRST..LAST each create, plug, unplug, change or
destroy a VIF (some locked, some rate-limited: they have OpenFlow rules and
meters), or create or destroy a VLAN or a bond; the random choices depend
on the seed and the operation's number only.  After every BATCH operations,
and after every VLAN or bond operation, host.wait_applied (the fabric
barrier) and a check that every port whose row (columns, interface count,
bridge) is the same as before kept its UUID, unless its VIF was unplugged
in between (an unplug and a plug in one batch remove the port and make it
again when the reconciler runs between the two, which depends on timing).  Counters in STATE: ops,
refused (calls the API refused), failed_waits, recreated (a list of
"operation: ports" strings).
"""
import json
import random
import subprocess
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))), "scripts"))
import netpool_rpc  # noqa: E402

BATCH = 4


def call(sock, method, params):
    return netpool_rpc.call(sock, method, [""] + params)


def port_rows(db):
    """Port name -> (UUID, row): its columns, interface count and its
    bridge's UUID (a port on a bridge made anew is new too)."""
    def vsctl(*args):
        return json.loads(subprocess.run(
            ["ovs-vsctl", "--db=unix:" + db, "--timeout=10",
             "--format=json"] + list(args),
            check=True, stdout=subprocess.PIPE, text=True).stdout)
    bridges = vsctl("--columns=_uuid,ports", "list", "Bridge")
    ports = vsctl("--columns=_uuid,name,tag,trunks,bond_mode,lacp,"
                  "external_ids,other_config,fake_bridge,interfaces",
                  "list", "Port")
    bridge_of = {}
    for br_uuid, br_ports in bridges["data"]:
        members = br_ports[1] if br_ports[0] == "set" else [br_ports]
        for member in members:
            bridge_of[member[1]] = br_uuid[1]
    rows = {}
    for row in ports["data"]:
        fields = dict(zip(ports["headings"], row))
        uuid = fields.pop("_uuid")[1]
        ifaces = fields.pop("interfaces")
        fields["n_interfaces"] = len(ifaces[1]) if ifaces[0] == "set" else 1
        fields["bridge"] = bridge_of.get(uuid, "")
        rows[fields["name"]] = (uuid, json.dumps(fields, sort_keys=True))
    return rows


class Ops:
    def __init__(self, st):
        self.st = st
        self.sock = st["socket"]
        self.unplugged = set()

    def api(self, method, *params):
        return call(self.sock, method, list(params))

    def vif_params(self, rng, vif):
        kind = rng.randrange(5)
        if kind == 0:
            self.api("VIF.set_locking_mode", vif, "locked")
            self.api("VIF.set_ipv4_allowed", vif,
                     ["198.18.40.%d" % rng.randrange(1, 200)])
        elif kind == 1:
            self.api("VIF.set_locking_mode", vif, "disabled")
        elif kind == 2:
            self.api("VIF.set_qos_algorithm_type", vif, "ratelimit")
            self.api("VIF.set_qos_algorithm_params", vif,
                     {"kbps": str(rng.randrange(1000, 10000))})
        elif kind == 3:
            self.api("VIF.set_locking_mode", vif, "unlocked")
            self.api("VIF.set_qos_algorithm_type", vif, "")
        else:
            self.api("VIF.set_locking_mode", vif, "network_default")

    def vif_op(self, rng):
        st = self.st
        slot = str(rng.randrange(12))
        vif = st["slots"].get(slot)
        if not vif:
            network = st["net"]
            if st["vlan"] and rng.randrange(3) == 0:
                network = st["vnets"][str(st["vlan_tag"])]
            vif = self.api("VIF.create", {
                "VM": st["vms"][int(slot) % 2], "network": network,
                "device": slot,
                "other_config": {"netns": st["guests"][int(slot) % 4]}})
            st["slots"][slot] = {"uuid": vif, "plugged": False}
            self.vif_params(rng, vif)
        elif not vif["plugged"]:
            if rng.randrange(3) == 0:
                self.unplugged.add(vif["uuid"])
                self.api("VIF.destroy", vif["uuid"])
                del st["slots"][slot]
            else:
                self.api("VIF.plug", vif["uuid"])
                vif["plugged"] = True
        elif rng.randrange(3) == 0:
            self.unplugged.add(vif["uuid"])
            self.api("VIF.unplug", vif["uuid"])
            vif["plugged"] = False
        else:
            self.vif_params(rng, vif["uuid"])

    def vlan_op(self, rng):
        st = self.st
        if not st["vlan"]:
            tag = (rng.randrange(3) + 1) * 10
            st["vlan"] = self.api("VLAN.create", st["pifs"][0], tag,
                                  st["vnets"][str(tag)])
            st["vlan_tag"] = tag
        else:
            vlan, st["vlan"] = st["vlan"], None
            self.api("VLAN.destroy", vlan)

    def bond_op(self, rng):
        st = self.st
        if not st["bond"]:
            mode = rng.choice(["active-backup", "balance-slb", "lacp"])
            st["bond"] = self.api("bond.create", st["bnet"], st["pifs"][1:3],
                                  "", mode, {})
        else:
            bond, st["bond"] = st["bond"], None
            self.api("bond.destroy", bond)

    def run(self, first, last):
        st = self.st
        before = port_rows(st["db"])
        for i in range(first, last + 1):
            rng = random.Random("%s-%d" % (st["seed"], i))
            r = rng.randrange(20)
            op = self.vif_op if r < 16 else (
                self.vlan_op if r < 18 else self.bond_op)
            try:
                op(rng)
            except RuntimeError:
                st["refused"] += 1
            st["ops"] += 1
            if i % BATCH and i < last and op == self.vif_op:
                continue
            try:
                self.api("host.wait_applied", "", "", 60)
            except RuntimeError:
                st["failed_waits"] += 1
            after = port_rows(st["db"])
            again = sorted(name for name, (uuid, row) in before.items()
                           if name in after and after[name][1] == row
                           and after[name][0] != uuid
                           and not any(v in row for v in self.unplugged))
            if again:
                st["recreated"].append("%d: %s" % (i, " ".join(again)))
            before = after
            self.unplugged = set()


def main():
    path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with open(path) as f:
        st = json.load(f)
    try:
        Ops(st).run(first, last)
    finally:
        with open(path, "w") as f:
            json.dump(st, f)


if __name__ == "__main__":
    main()
