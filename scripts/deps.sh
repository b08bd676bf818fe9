#!/usr/bin/env bash
#
# scripts/deps.sh [--missing]
#
# Install every Debian package netpool needs, idempotently, then build
# libopenvswitch from Debian's openvswitch-source into build/ovs.
# Nothing is downloaded from anywhere but Debian's archive.
#
# Each step is a line "deps: ...": which packages are missing, whether the
# package lists are recent enough to install from (younger than a day:
# then there is no apt-get update), the update (bounded in time and tried
# twice, scripts/apt-lists.sh), the install, the libopenvswitch build.  A
# package that cannot be installed ends it with "deps: FAILED: ..." on
# stderr and status 1.
#
# --missing: install nothing, print the names of the packages that are not
# installed (nothing when all are), exit 0.  The Makefile asks this before a
# plain build.
#
# NETPOOL_DEPS_EXTRA: more package names (tests use it); the time bounds
# are in scripts/apt-lists.sh.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/apt-lists.sh
source "$top/scripts/apt-lists.sh"

PACKAGES=(
    build-essential pkg-config python3 clang-format valgrind
    libevent-dev libjson-c-dev libsqlite3-dev sqlite3 libssl-dev openssl
    libnl-3-dev libnl-route-3-dev libcmocka-dev
    libnuma-dev libxdp-dev libbpf-dev libcap-ng-dev
    openvswitch-switch openvswitch-common openvswitch-source
    openvswitch-switch-dpdk dpdk dpdk-dev libdpdk-dev
    corosync libcorosync-common-dev libcpg-dev libquorum-dev
    libvotequorum-dev libcmap-dev
    snmpd snmp libsnmp-dev smitools snmptrapd
    qemu-system-x86 qemu-utils libxen-dev libteam-dev
    qemu-block-extra libnfs-dev libiscsi-dev nfs-ganesha nfs-ganesha-vfs tgt
    busybox-static prometheus
    iproute2 ethtool nftables iputils-ping procps psmisc socat curl iperf3
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

if [ ${#missing[@]} -eq 0 ]; then
    echo "deps: all ${#PACKAGES[@]} Debian packages present"
else
    echo "deps: ${#missing[@]} of ${#PACKAGES[@]} Debian packages missing:" \
        "${missing[*]}"
    # Package scripts must not start system services: netpool runs its own
    # private OVS instances and never touches the machine's network.
    guard=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        guard=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    updated=
    age=$(apt_lists_age)
    if apt_lists_recent; then
        echo "deps: the package lists are $((age / 60)) minute(s) old:" \
            "installing from them without an update"
    else
        if [ -n "$age" ]; then
            echo "deps: the package lists are $((age / 60)) minute(s) old"
        else
            echo "deps: there are no package lists yet"
        fi
        apt_update_bounded deps ||
            echo "deps: installing from the package lists as they are"
        updated=1
    fi
    install_missing() {
        echo "deps: installing ${#missing[@]} package(s)" \
            "(apt-get install: a first install takes several minutes)"
        apt-get install -y -qq --no-install-recommends \
            "${APT_STALL_OPTIONS[@]}" "${missing[@]}"
    }
    if ! install_missing; then
        # Lists a few hours old can name files the archive has replaced
        # since: refresh them once, then give up loudly.
        if [ -n "$updated" ] || ! apt_update_bounded deps ||
            ! install_missing; then
            echo "deps: FAILED: apt-get install could not install" \
                "${missing[*]}" >&2
            exit 1
        fi
    fi
    mapfile -t missing < <(missing_packages)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "deps: FAILED: still not installed: ${missing[*]}" >&2
        exit 1
    fi
    [ -z "$guard" ] || { rm -f /usr/sbin/policy-rc.d && trap - EXIT; }
    echo "deps: packages installed"
fi

"$top/scripts/build-ovs.sh"
