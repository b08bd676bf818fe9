#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "lib/xalloc.h"

static struct np_error *check_params(const struct cli_ctx *ctx);
static bool spec_has(const char *spec, const struct cli_param *p);

/* The command table: the single source for dispatch, help, bash
 * completion (through "help --list" and "help --params") and the man page
 * (through "help --roff").  Generic commands are listed once, by verb. */
static const struct cli_command list_cmd = {
    "list",
    "",
    "params",
    "List <class> objects; field=value filters them.",
    cli_cmd_list,
    CLI_CMD_GENERIC | CLI_CMD_ANY_PARAM,
    "[FIELD=VALUE ...]",
};
static const struct cli_command param_list_cmd = {
    "param-list",
    "uuid",
    "",
    "Show every field of one <class> object.",
    cli_cmd_param_list,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command param_get_cmd = {
    "param-get",
    "uuid param-name",
    "param-key",
    "Print one field of a <class> object, or one key of a map field.",
    cli_cmd_param_get,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command param_set_cmd = {
    "param-set",
    "uuid",
    "",
    "Set fields (field=value) and map keys (map:key=value) of a <class>.",
    cli_cmd_param_set,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP | CLI_CMD_ANY_PARAM,
    "FIELD=VALUE ... [MAP:KEY=VALUE ...]",
};
static const struct cli_command param_add_cmd = {
    "param-add",
    "uuid param-name",
    "param-key",
    "Add key=value pairs to a map field (or param-key= to a set field).",
    cli_cmd_param_add,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP | CLI_CMD_ANY_PARAM,
    "[KEY=VALUE ...]",
};
static const struct cli_command param_remove_cmd = {
    "param-remove",
    "uuid param-name param-key",
    "",
    "Remove one key from a map field (or one member from a set field).",
    cli_cmd_param_remove,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command param_clear_cmd = {
    "param-clear",
    "uuid param-name",
    "",
    "Remove every key of a map field (or member of a set field).",
    cli_cmd_param_clear,
    CLI_CMD_GENERIC | CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command network_create_cmd = {
    "network-create",
    "name-label",
    "name-description MTU other-config:",
    "Create a network and print its UUID.",
    cli_cmd_network_create,
    0,
    NULL,
};
static const struct cli_command network_destroy_cmd = {
    "network-destroy",   "uuid",         "",   "Destroy a network.",
    cli_cmd_object_call, CLI_CMD_LOOKUP, NULL,
};
static const struct cli_command user_create_cmd = {
    "user-create",
    "username password role",
    "",
    "Create a user with a role (pool-admin, pool-operator, vm-power-admin, "
    "vm-admin, vm-operator, read-only) and print its UUID.",
    cli_cmd_user_create,
    0,
    NULL,
};
static const struct cli_command user_destroy_cmd = {
    "user-destroy",      "uuid",         "",   "Destroy a user.",
    cli_cmd_object_call, CLI_CMD_LOOKUP, NULL,
};
static const struct cli_command user_password_change_cmd = {
    "user-password-change",
    "old new",
    "",
    "Change the password of the logged-in user.",
    cli_cmd_user_password_change,
    0,
    NULL,
};
static const struct cli_command message_destroy_cmd = {
    "message-destroy",   "uuid",         "",   "Destroy a message.",
    cli_cmd_object_call, CLI_CMD_LOOKUP, NULL,
};
static const struct cli_command task_cancel_cmd = {
    "task-cancel",       "uuid",         "",   "Ask a pending task to stop.",
    cli_cmd_object_call, CLI_CMD_LOOKUP, NULL,
};
static const struct cli_command pif_plug_cmd = {
    "pif-plug",
    "uuid",
    "",
    "Plug a PIF: its network's bridge comes up with it as a port.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command pif_unplug_cmd = {
    "pif-unplug",
    "uuid",
    "",
    "Unplug a PIF: it leaves its bridge (not the management PIF).",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vlan_create_cmd = {
    "vlan-create",
    "pif-uuid vlan network-uuid",
    "",
    "Create a VLAN (tag 1-4094) on a physical or bond PIF, its VLAN PIF on "
    "the network, and print the VLAN PIF's UUID.",
    cli_cmd_vlan_create,
    0,
    NULL,
};
static const struct cli_command vlan_destroy_cmd = {
    "vlan-destroy",
    "uuid",
    "",
    "Destroy a VLAN, named by its UUID or its VLAN PIF's.",
    cli_cmd_vlan_destroy,
    0,
    NULL,
};
static const struct cli_command pif_reconfigure_ip_cmd = {
    "pif-reconfigure-ip",
    "uuid mode",
    "IP netmask gateway DNS",
    "Set the address of a PIF: mode=static with IP= netmask= [gateway=] "
    "[DNS=], mode=dhcp (management PIF only) or mode=none (not on the "
    "management PIF).  A change of the "
    "management address is rolled back if its gateway does not answer "
    "within host other-config:management-rollback-timeout seconds "
    "(default 30).",
    cli_cmd_pif_reconfigure_ip,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command sr_create_cmd = {
    "sr-create",
    "name-label type",
    "device-config: shared",
    "Create an SR and print its UUID: type=dir, a local directory "
    "device-config:location= (made if missing); type=nfs, a folder "
    "device-config:serverpath= of the NFS server device-config:server= "
    "(an IPv4 address on the subnet of one of this host's PIFs; "
    "device-config:nfsversion=3); type=iscsi, the target "
    "device-config:targetIQN= at device-config:target= (an IPv4 address, "
    "device-config:port=3260) whose disk LUNs become its VDIs, or the one "
    "LUN device-config:SCSIid=; checked from this host first, with "
    "shared=true plugged on every host of the pool (a PBD each).",
    cli_cmd_sr_create,
    0,
    NULL,
};
static const struct cli_command sr_destroy_cmd = {
    "sr-destroy",
    "uuid",
    "",
    "Forget an SR that has no VDIs (an iSCSI SR: none in use; its LUNs' "
    "VDIs go with it) and no plugged PBD, and its PBDs (its files and "
    "LUNs stay).",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command pbd_plug_cmd = {
    "pbd-plug",
    "uuid",
    "",
    "Plug an SR into the PBD's host: this host's own PBD is checked first "
    "(its server, path MTU, mount); another host's reports in its "
    "connected and error fields.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command pbd_unplug_cmd = {
    "pbd-unplug",
    "uuid",
    "",
    "Unplug an SR from the PBD's host (refused while a running VM there "
    "has a disk on it).",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vdi_create_cmd = {
    "vdi-create",
    "sr-uuid virtual-size",
    "name-label format read-only other-config:",
    "Create an empty disk image of virtual-size bytes (format=qcow2, the "
    "default, or raw) in an SR and print the VDI's UUID.",
    cli_cmd_vdi_create,
    0,
    NULL,
};
static const struct cli_command vdi_destroy_cmd = {
    "vdi-destroy",
    "uuid",
    "",
    "Destroy a VDI that no VBD uses and no clone is based on, and its image "
    "(not a LUN of an iSCSI SR).",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vdi_clone_cmd = {
    "vdi-clone",
    "uuid",
    "",
    "Make a copy-on-write clone of a VDI in its SR and print the new VDI.",
    cli_cmd_vdi_clone,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vdi_copy_cmd = {
    "vdi-copy",
    "uuid sr-uuid",
    "",
    "Make a full copy of a VDI in an SR and print the new VDI.",
    cli_cmd_vdi_copy,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vdi_resize_cmd = {
    "vdi-resize",
    "uuid disk-size",
    "",
    "Grow a VDI's image to disk-size bytes (never smaller) while no running "
    "VM uses it.",
    cli_cmd_vdi_resize,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vbd_create_cmd = {
    "vbd-create",
    "vm-uuid vdi-uuid",
    "device bootable mode type other-config:",
    "Plug a VDI into a halted VM as disk device= (0-15; mode=RW or RO) and "
    "print the VBD's UUID.",
    cli_cmd_vbd_create,
    0,
    NULL,
};
static const struct cli_command vbd_destroy_cmd = {
    "vbd-destroy",
    "uuid",
    "",
    "Unplug a VDI from a halted VM (the VDI stays).",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command host_management_reconfigure_cmd = {
    "host-management-reconfigure",
    "pif-uuid",
    "",
    "Move this host's management role (and address) to a PIF that has an IP "
    "configuration; the old PIF loses its address.  Rolled back like a "
    "readdress if the new gateway does not answer.",
    cli_cmd_host_management_reconfigure,
    0,
    NULL,
};
static const struct cli_command host_management_disable_cmd = {
    "host-management-disable",
    "",
    "",
    "Give up this host's management role: the management PIF loses its "
    "address; the local socket still reaches netpoold.",
    cli_cmd_host_management_disable,
    0,
    NULL,
};
static const struct cli_command bond_create_cmd = {
    "bond-create",
    "network-uuid pif-uuids",
    "mode MAC properties:",
    "Bond PIFs (mode=balance-slb, active-backup or lacp) onto a network and "
    "print the bond's UUID; properties:hashing_algorithm=, lacp-time=, "
    "lacp-fallback-ab=, rebalance-interval=, updelay=, downdelay=, detect=, "
    "miimon=, bfd=, bfd-min-rx=, bfd-min-tx=, failback=.  properties:bfd=true "
    "runs BFD on every member (the partner must too) and finds a member "
    "that keeps carrier but passes nothing: packets every 25 ms (bfd-min-rx, "
    "bfd-min-tx), out after 3 missed, downdelay 0, and a recovered member "
    "may be used 2000 ms (updelay) after BFD says it forwards.  "
    "active-backup goes back to its primary member when it returns; "
    "properties:failback=false keeps the member in use until it fails "
    "(for bonds facing switch ports).",
    cli_cmd_bond_create,
    0,
    NULL,
};
static const struct cli_command bond_destroy_cmd = {
    "bond-destroy",
    "uuid",
    "",
    "Destroy a bond: its members become ordinary PIFs again.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command bond_set_mode_cmd = {
    "bond-set-mode",       "uuid mode",    "",   "Change a bond's mode.",
    cli_cmd_bond_set_mode, CLI_CMD_LOOKUP, NULL,
};
static const struct cli_command bond_param_set_cmd = {
    "bond-param-set",
    "uuid",
    "",
    "Set fields and map keys of a bond; properties:key=value pairs are "
    "checked and written together.",
    cli_cmd_bond_param_set,
    CLI_CMD_LOOKUP | CLI_CMD_ANY_PARAM,
    "FIELD=VALUE ... [properties:KEY=VALUE ...]",
};
static const struct cli_command vm_create_cmd = {
    "vm-create",
    "name-label",
    "name-description VCPUs-max memory-static-min memory-static-max "
    "memory-dynamic-min memory-dynamic-max PV-kernel PV-ramdisk PV-args "
    "is-a-template ha-restart-priority order start-delay affinity "
    "other-config:",
    "Create a VM record (no domain yet) with any of its writable fields "
    "(memory settings in bytes, checked in order); print its UUID.",
    cli_cmd_vm_create,
    0,
    NULL,
};
static const struct cli_command vm_destroy_cmd = {
    "vm-destroy",
    "uuid",
    "",
    "Destroy a VM that has no VIFs left.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_clone_cmd = {
    "vm-clone",
    "new-name-label",
    "uuid",
    "Clone a halted VM: same settings, a copy of each VIF with a new MAC, "
    "new UUIDs; print the new VM's UUID.",
    cli_cmd_vm_clone,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_copy_cmd = {
    "vm-copy",
    "new-name-label",
    "uuid sr-uuid",
    "Copy a halted VM like vm-clone, but with full, independent copies of "
    "its disks (into sr-uuid= if given, else each disk's own SR); print the "
    "new VM's UUID.",
    cli_cmd_vm_clone,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_install_cmd = {
    "vm-install",
    "template new-name-label",
    "",
    "Make a VM from a template (a VM with is-a-template=true, named by "
    "UUID or name-label): a clone that is not a template; print its UUID.",
    cli_cmd_vm_clone,
    0,
    NULL,
};
static const struct cli_command vm_memory_limits_set_cmd = {
    "vm-memory-limits-set",
    "static-min static-max dynamic-min dynamic-max",
    "uuid",
    "Set the four memory settings of a VM as one change (bytes, or with "
    "KiB, MiB, GiB): static-min <= dynamic-min <= dynamic-max <= "
    "static-max, else MEMORY_CONSTRAINT_VIOLATION and nothing changes.",
    cli_cmd_vm_memory,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_memory_set_cmd = {
    "vm-memory-set",
    "memory",
    "uuid",
    "Set memory-static-max, memory-dynamic-min and memory-dynamic-max of a "
    "VM to memory= (bytes, or with KiB, MiB, GiB) as one change.",
    cli_cmd_vm_memory,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_start_cmd = {
    "vm-start",
    "",
    "uuid",
    "Start a halted VM: its domain boots and its VIFs plug.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_migrate_cmd = {
    "vm-migrate",
    "host",
    "uuid live bandwidth downtime vdi:",
    "Move a running VM to another pool member (host= UUID or name) "
    "without stopping it, over the pool's migration network; admitted "
    "first (memory, networks, datapath, version, disks), else a "
    "typed error and the VM stays.  live=false pauses it while memory "
    "moves; bandwidth= MiB/s (the memory and each disk's copy), downtime= "
    "ms limit QEMU.  vdi:<vdi>=<sr> "
    "moves a disk (read-only ones too) with it into a directory SR of the "
    "destination (storage "
    "migration: mirrored over NBD, the original removed after); every disk "
    "on an SR the destination does not see needs one.  Its task's progress "
    "(task-list) follows the disks' copy, then the memory.  task-cancel of "
    "its task leaves it where it was.",
    cli_cmd_vm_migrate,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command host_disable_cmd = {
    "host-disable",
    "",
    "uuid",
    "Disable a host: it takes no VM that starts, resumes or migrates; "
    "its own keep running (maintenance mode: then host-evacuate).",
    cli_cmd_host_maintenance,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command host_enable_cmd = {
    "host-enable",
    "",
    "uuid",
    "Enable a disabled host again: it takes VMs.",
    cli_cmd_host_maintenance,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command host_evacuate_cmd = {
    "host-evacuate",
    "",
    "uuid",
    "Live-migrate every VM of a disabled host to other members: prints the "
    "plan (VM -> host) computed first, moves nothing if a VM fits nowhere "
    "(HOST_EVACUATE_PLAN_DOES_NOT_FIT), then waits for every migration.",
    cli_cmd_host_maintenance,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_shutdown_cmd = {
    "vm-shutdown",
    "",
    "uuid force",
    "Shut a VM down: ask the guest (ACPI power button) and wait for "
    "it, or with --force end its domain at once.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_reboot_cmd = {
    "vm-reboot",
    "",
    "uuid force",
    "Reboot a VM: the guest powers off and boots again, or with "
    "--force a reset.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_pause_cmd = {
    "vm-pause",
    "",
    "uuid",
    "Pause a running VM: its vCPUs stop, its memory stays.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_unpause_cmd = {
    "vm-unpause",
    "",
    "uuid",
    "Unpause a paused VM: its vCPUs run again.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_suspend_cmd = {
    "vm-suspend",
    "",
    "uuid",
    "Suspend a running VM: its state is saved and its domain ends.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_resume_cmd = {
    "vm-resume",
    "",
    "uuid",
    "Resume a suspended VM from its saved state.",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vm_reset_powerstate_cmd = {
    "vm-reset-powerstate",
    "",
    "uuid force",
    "With --force, mark a VM Halted whatever its domain does (a "
    "domain still there is ended).",
    cli_cmd_vm_power,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vif_create_cmd = {
    "vif-create",
    "vm-uuid network-uuid device",
    "MAC other-config:",
    "Create a VIF (device 0-9999; MAC generated if not given) and print its "
    "UUID; other-config:netns=NAME makes namespace NAME its guest.",
    cli_cmd_vif_create,
    0,
    NULL,
};
static const struct cli_command vif_destroy_cmd = {
    "vif-destroy",
    "uuid",
    "",
    "Destroy a VIF; a plugged one leaves its bridge.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vif_plug_cmd = {
    "vif-plug",
    "uuid",
    "",
    "Plug a VIF: it becomes a port of its network's bridge.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command vif_unplug_cmd = {
    "vif-unplug",
    "uuid",
    "",
    "Unplug a VIF: its port leaves the bridge.",
    cli_cmd_object_call,
    CLI_CMD_LOOKUP,
    NULL,
};
static const struct cli_command event_wait_cmd = {
    "event-wait",
    "class",
    "uuid timeout",
    "Wait until an object of the class has every field=value given "
    "(field=/=value: differs); fails with TIMEOUT after timeout= seconds.",
    cli_cmd_event_wait,
    CLI_CMD_ANY_PARAM,
    "FIELD=VALUE ...",
};
static const struct cli_command host_wait_applied_cmd = {
    "host-wait-applied",
    "",
    "uuid seq timeout",
    "Wait until this host's Open vSwitch holds every change written before "
    "the call (or up to store sequence seq=), print the sequence applied; "
    "TIMEOUT after timeout= seconds (default 60).",
    cli_cmd_host_wait_applied,
    0,
    NULL,
};
static const struct cli_command help_cmd = {
    "help",
    "",
    "",
    "Show help: help COMMAND for one command, --all for every command, "
    "--list for the names only.",
    cli_cmd_help,
    CLI_CMD_OFFLINE | CLI_CMD_ANY_PARAM,
    "[COMMAND | --all | --list]",
};

static const struct cli_command pool_join_cmd = {
    "pool-join",
    "master-address master-username master-password",
    "force",
    "Make this host a member of the pool that master-address (any member, "
    "ADDRESS[:PORT]) belongs to, after xapi's pre-checks; its store is "
    "replaced by the pool's.  force=true skips the version and datapath "
    "checks.",
    cli_cmd_pool_join,
    0,
    NULL,
};
static const struct cli_command pool_eject_cmd = {
    "pool-eject",
    "host-uuid",
    "",
    "Remove a host from the pool: its records go, and it starts again as a "
    "standalone host with a fresh store and its management address.",
    cli_cmd_pool_eject,
    0,
    NULL,
};
static const struct cli_command pool_designate_new_master_cmd = {
    "pool-designate-new-master",
    "host-uuid",
    "",
    "Make another member of the pool its master, after every write made "
    "before.",
    cli_cmd_pool_designate_new_master,
    0,
    NULL,
};
static const struct cli_command pool_management_reconfigure_cmd = {
    "pool-management-reconfigure",
    "network-uuid",
    "",
    "Move every member's management role (and address, and the pool's own "
    "traffic) to its PIF on a network; each PIF needs an IP configuration "
    "and every member must answer at its new address first.",
    cli_cmd_pool_management_reconfigure,
    0,
    NULL,
};
static const struct cli_command pool_emergency_transition_to_master_cmd = {
    "pool-emergency-transition-to-master",
    "",
    "",
    "On a host cut off with a minority of the pool, when the rest is known "
    "to be gone: its partition takes over the pool and it becomes master.",
    cli_cmd_pool_emergency_transition_to_master,
    0,
    NULL,
};
static const struct cli_command pool_recover_slaves_cmd = {
    "pool-recover-slaves",
    "",
    "",
    "After an emergency transition: give the pool back the votes of every "
    "host, and list the hosts now in the pool's configuration.",
    cli_cmd_pool_recover_slaves,
    0,
    NULL,
};
static const struct cli_command pool_emergency_reset_master_cmd = {
    "pool-emergency-reset-master",
    "master-address",
    "",
    "On a member left out while the pool changed: fetch the pool's "
    "membership from the member at master-address (mutual TLS with the "
    "pool's certificates), then enter the pool afresh and take its state.",
    cli_cmd_pool_emergency_reset_master,
    0,
    NULL,
};
static const struct cli_command pool_bond_create_cmd = {
    "pool-bond-create",
    "network-uuid pif-uuids",
    "mode properties:",
    "Bond, on every host of the pool, its PIFs of the same devices as "
    "pif-uuids (PIFs of one host) onto the network, as bond-create does on "
    "one host; refused whole if any host's bond cannot be made.  Print the "
    "bonds' UUIDs.",
    cli_cmd_pool_bond_create,
    0,
    NULL,
};
static const struct cli_command pool_homogeneity_report_cmd = {
    "pool-homogeneity-report",
    "",
    "",
    "Name each host whose software version, network backend, datapath, VM "
    "backend, MTU on a pool network or NIC on a pool network differs from "
    "what most of the pool's hosts have, with both values.",
    cli_cmd_pool_homogeneity_report,
    0,
    NULL,
};
static const struct cli_command pool_ha_enable_cmd = {
    "pool-ha-enable",
    "heartbeat-sr-uuids",
    "ha-config:",
    "Turn high availability on: each host writes its liveness to a "
    "statefile on the heartbeat SRs (shared NFS SRs every host reaches), "
    "fences itself when it loses, and protected VMs of a lost host restart "
    "on the others.  ha-config:timeout=SECONDS (1-120) is kept in the pool "
    "(default 10; a later enable without it keeps it).  While HA is on, "
    "corosync's token is a quarter of the timeout (at least 1000 ms, at "
    "most the pool's token-timeout).  The pre-flight "
    "warnings (fewer than 3 hosts, management not on a bond, the SR served "
    "from a pool host) are printed and raised as messages.",
    cli_cmd_pool_ha_enable,
    0,
    NULL,
};
static const struct cli_command pool_ha_disable_cmd = {
    "pool-ha-disable",
    "",
    "",
    "Turn high availability off; the pool keeps its HA timeout.",
    cli_cmd_pool_ha_disable,
    0,
    NULL,
};
static const struct cli_command pool_ha_compute_max_cmd = {
    "pool-ha-compute-max-host-failures-to-tolerate",
    "",
    "",
    "Print how many hosts may fail with every protected VM "
    "(ha-restart-priority=restart) still fitting on the others.",
    cli_cmd_pool_ha_compute_max_host_failures_to_tolerate,
    0,
    NULL,
};
static const struct cli_command host_ha_clear_cmd = {
    "host-ha-clear",
    "",
    "",
    "On a host that HA fenced (it ended every domain and left the pool): "
    "let it rejoin the pool; its domains may run again once it is back.",
    cli_cmd_host_ha_clear,
    0,
    NULL,
};
static const struct cli_command host_emergency_ha_disable_cmd = {
    "host-emergency-ha-disable",
    "",
    "force",
    "On a host that cannot reach its pool: stop applying HA here (no "
    "fence, no watchdog) until HA is next enabled on the pool.  Needs "
    "--force.",
    cli_cmd_host_emergency_ha_disable,
    0,
    NULL,
};
static const struct cli_command pool_status_cmd = {
    "pool-status",
    "",
    "",
    "This host's view of its pool: quorum, members, master, the log "
    "sequence applied here and held by a majority.",
    cli_cmd_pool_status,
    0,
    NULL,
};

static const struct cli_command pool_vlan_create_cmd = {
    "pool-vlan-create",
    "pif-uuid vlan network-uuid",
    "",
    "Create the VLAN on every host of the pool, on its PIF with the same "
    "device as pif-uuid; refused whole if any host's cannot take it.  "
    "Prints the new VLAN PIFs.",
    cli_cmd_pool_vlan_create,
    0,
    NULL,
};

static const struct cli_command *const commands[] = {
    &list_cmd,
    &param_list_cmd,
    &param_get_cmd,
    &param_set_cmd,
    &param_add_cmd,
    &param_remove_cmd,
    &param_clear_cmd,
    &network_create_cmd,
    &network_destroy_cmd,
    &user_create_cmd,
    &user_destroy_cmd,
    &user_password_change_cmd,
    &message_destroy_cmd,
    &task_cancel_cmd,
    &pif_plug_cmd,
    &pif_unplug_cmd,
    &bond_create_cmd,
    &bond_destroy_cmd,
    &bond_set_mode_cmd,
    &bond_param_set_cmd,
    &pif_reconfigure_ip_cmd,
    &host_management_reconfigure_cmd,
    &sr_create_cmd,
    &sr_destroy_cmd,
    &pbd_plug_cmd,
    &pbd_unplug_cmd,
    &vdi_create_cmd,
    &vdi_destroy_cmd,
    &vdi_clone_cmd,
    &vdi_copy_cmd,
    &vdi_resize_cmd,
    &vbd_create_cmd,
    &vbd_destroy_cmd,
    &host_management_disable_cmd,
    &vlan_create_cmd,
    &vlan_destroy_cmd,
    &vm_create_cmd,
    &vm_destroy_cmd,
    &vm_start_cmd,
    &vm_migrate_cmd,
    &vm_shutdown_cmd,
    &vm_reboot_cmd,
    &vm_pause_cmd,
    &vm_unpause_cmd,
    &vm_suspend_cmd,
    &vm_resume_cmd,
    &vm_reset_powerstate_cmd,
    &vm_clone_cmd,
    &vm_copy_cmd,
    &vm_install_cmd,
    &vm_memory_limits_set_cmd,
    &vm_memory_set_cmd,
    &vif_create_cmd,
    &vif_destroy_cmd,
    &vif_plug_cmd,
    &vif_unplug_cmd,
    &pool_join_cmd,
    &pool_eject_cmd,
    &pool_designate_new_master_cmd,
    &pool_management_reconfigure_cmd,
    &pool_emergency_transition_to_master_cmd,
    &pool_recover_slaves_cmd,
    &pool_emergency_reset_master_cmd,
    &pool_homogeneity_report_cmd,
    &pool_bond_create_cmd,
    &pool_status_cmd,
    &pool_ha_enable_cmd,
    &pool_ha_disable_cmd,
    &pool_ha_compute_max_cmd,
    &host_ha_clear_cmd,
    &host_emergency_ha_disable_cmd,
    &pool_vlan_create_cmd,
    &event_wait_cmd,
    &host_wait_applied_cmd,
    &host_disable_cmd,
    &host_enable_cmd,
    &host_evacuate_cmd,
    &help_cmd,
    NULL,
};

const struct cli_command *const *
cli_commands(void)
{
    return commands;
}

const struct cli_command *
cli_command_find(const char *name, const struct cli_class **classp)
{
    const char *dash = strchr(name, '-');

    *classp = NULL;
    for (size_t i = 0; commands[i]; i++) {
        if (!(commands[i]->flags & CLI_CMD_GENERIC)
            && !strcmp(name, commands[i]->name)) {
            return commands[i];
        }
    }
    if (!dash) {
        return NULL;
    }
    for (size_t i = 0; cli_classes()[i]; i++) {
        const struct cli_class *class = cli_classes()[i];
        size_t length = strlen(class->cli_name);
        if ((size_t) (dash - name) != length
            || strncmp(name, class->cli_name, length)) {
            continue;
        }
        for (size_t j = 0; commands[j]; j++) {
            if ((commands[j]->flags & CLI_CMD_GENERIC)
                && !strcmp(dash + 1, commands[j]->name)) {
                *classp = class;
                return commands[j];
            }
        }
    }
    return NULL;
}

struct np_error *
cli_run(const struct cli_args *args, FILE *out)
{
    const char *name = args->command ? args->command : "help";
    struct cli_session session;
    struct cli_ctx ctx;
    struct np_error *error;

    if (args->version) {
        fprintf(out, "netpool %s\n", CLI_VERSION);
        return NULL;
    }

    memset(&ctx, 0, sizeof ctx);
    ctx.args = args;
    ctx.out = out;
    ctx.command = cli_command_find(name, &ctx.class);
    if (!ctx.command) {
        return np_error_new(ERR_UNKNOWN_COMMAND, name, NULL);
    }
    if (!ctx.class) {
        /* "network-destroy" acts on networks. */
        char *prefix = xstrdup(name);
        char *dash = strchr(prefix, '-');
        if (dash) {
            *dash = '\0';
            ctx.class = cli_class_find(prefix);
        }
        free(prefix);
    }
    error = check_params(&ctx);
    if (error) {
        return error;
    }

    if (ctx.command->flags & CLI_CMD_OFFLINE) {
        return ctx.command->run(&ctx);
    }
    error = cli_session_open(&session, args);
    if (!error) {
        ctx.session = &session;
        error = ctx.command->run(&ctx);
    }
    cli_session_close(&session);
    return error;
}

/* Refuses parameters the command does not take, so that a typo is an
 * error rather than a silently ignored argument. */
static struct np_error *
check_params(const struct cli_ctx *ctx)
{
    const struct cli_command *cmd = ctx->command;
    const struct cli_args *args = ctx->args;

    if (args->n_words && strcmp(cmd->name, "help")) {
        return np_error_new(CLI_ERR_UNKNOWN_PARAMETER, args->command,
                            args->words[0], NULL);
    }
    if (cmd->flags & CLI_CMD_ANY_PARAM) {
        return NULL;
    }
    for (size_t i = 0; i < args->n_params; i++) {
        const struct cli_param *p = &args->params[i];
        bool lookup =
            ((cmd->flags & CLI_CMD_LOOKUP) && !p->map_key
             && (!strcmp(p->key, "uuid") || !strcmp(p->key, "name-label")
                 || (ctx->class && !strcmp(p->key, ctx->class->cli_name))));

        if (!lookup && !spec_has(cmd->required, p)
            && !spec_has(cmd->optional, p)) {
            char *key = (p->map_key ? xasprintf("%s:%s", p->key, p->map_key)
                                    : xstrdup(p->key));
            struct np_error *error = np_error_new(CLI_ERR_UNKNOWN_PARAMETER,
                                                  args->command, key, NULL);
            free(key);
            return error;
        }
    }
    return NULL;
}

/* Returns true if the space-separated parameter list 'spec' admits 'p':
 * "key" admits key=value, "key:" admits key:anything=value. */
static bool
spec_has(const char *spec, const struct cli_param *p)
{
    size_t key_length = strlen(p->key);

    for (const char *s = spec; *s;) {
        size_t length = strcspn(s, " ");
        bool is_map = length && s[length - 1] == ':';
        size_t name_length = is_map ? length - 1 : length;

        if (name_length == key_length && !strncmp(s, p->key, key_length)
            && is_map == (p->map_key != NULL)) {
            return true;
        }
        s += length + (s[length] == ' ');
    }
    return false;
}
