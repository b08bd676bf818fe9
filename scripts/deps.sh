#!/usr/bin/env bash
#
# scripts/deps.sh [--missing]
#
# Install every Debian package netpool needs, idempotently, then build
# libopenvswitch from Debian's openvswitch-source into build/ovs.
# Nothing is downloaded from anywhere but Debian's archive.
#
# --missing: install nothing, print the names of the packages that are not
# installed (nothing when all are), exit 0.  The Makefile asks this before a
# plain build.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
    build-essential pkg-config python3 clang-format valgrind
    libevent-dev libjson-c-dev libsqlite3-dev sqlite3 libssl-dev openssl
    libnl-3-dev libnl-route-3-dev libcmocka-dev
    libnuma-dev libxdp-dev libbpf-dev libcap-ng-dev
    openvswitch-switch openvswitch-common openvswitch-source
    openvswitch-switch-dpdk dpdk dpdk-dev libdpdk-dev
    corosync libcorosync-common-dev libcpg-dev libquorum-dev
    libvotequorum-dev libcmap-dev libcfg-dev
    snmpd snmp libsnmp-dev smitools snmptrapd
    qemu-system-x86 qemu-utils libxen-dev libteam-dev
    busybox-static prometheus
    iproute2 ethtool nftables iputils-ping procps psmisc socat curl
    ${NETPOOL_DEPS_EXTRA:-}
)

# The packages of the list that are not installed, one per line.  One
# dpkg-query for all of them: the Makefile asks on every plain build.
missing_packages() {
    dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null |
        awk '$NF == "installed" { print $1 }' |
        sort -u | comm -23 <(printf '%s\n' "${PACKAGES[@]}" | sort -u) -
}

mapfile -t missing < <(missing_packages)
if [ "${1:-}" = --missing ]; then
    [ ${#missing[@]} -eq 0 ] || echo "${missing[*]}"
    exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    # Package scripts must not start system services: netpool runs its own
    # private OVS instances and never touches the machine's network.
    guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        guard=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    [ -z "$guard" ] || rm -f /usr/sbin/policy-rc.d
else
    echo "deps: all Debian packages present"
fi

"$top/scripts/build-ovs.sh"
