# shellcheck shell=bash
#
# apt-lists.sh — Debian package lists, refreshed only when they are old and
# never for longer than a bound.  Sourced by scripts/deps.sh and
# tests/guest/build.sh.
#
#   apt_lists_age           print the age in seconds of the newest package
#                           list, or nothing when there is none
#   apt_lists_recent        true when a list exists and is younger than
#                           NETPOOL_APT_LISTS_MAX_AGE seconds (default
#                           86400: one day)
#   apt_update_bounded TAG  apt-get update, at most
#                           NETPOOL_APT_UPDATE_TIMEOUT seconds (default 120)
#                           a try, tried twice; every step is a line
#                           "TAG: ..." on stdout.  Status 1 when both tries
#                           failed (the lists are then as they were).
#
# apt's own stall timeout (Acquire::*::Timeout, 30 s without data) ends a
# stalled download early; the outer bound ends anything else that hangs.

NETPOOL_APT_LISTS_MAX_AGE=${NETPOOL_APT_LISTS_MAX_AGE:-86400}
NETPOOL_APT_UPDATE_TIMEOUT=${NETPOOL_APT_UPDATE_TIMEOUT:-120}
APT_STALL_OPTIONS=(-o Acquire::http::Timeout=30
    -o Acquire::https::Timeout=30)

# The folder apt keeps its lists in (Dir::State::lists).
_apt_lists_dir() {
    local dir
    dir=$(apt-config shell dir Dir::State::lists/d 2> /dev/null |
        sed -n "s/^dir='\\(.*\\)'\$/\\1/p")
    echo "${dir:-/var/lib/apt/lists/}"
}

apt_lists_age() {
    local newest
    newest=$(find "$(_apt_lists_dir)" -maxdepth 1 -type f \
        \( -name '*_Packages*' -o -name '*Release' \) \
        -printf '%T@\n' 2> /dev/null | sort -n | tail -n 1)
    [ -n "$newest" ] || return 0
    echo $(($(date +%s) - ${newest%.*}))
}

apt_lists_recent() {
    local age
    age=$(apt_lists_age)
    [ -n "$age" ] && [ "$age" -lt "$NETPOOL_APT_LISTS_MAX_AGE" ]
}

apt_update_bounded() {
    local tag=$1 try rc
    for try in 1 2; do
        echo "$tag: updating the package lists (apt-get update, try $try" \
            "of 2, at most ${NETPOOL_APT_UPDATE_TIMEOUT} s)"
        rc=0
        timeout -k 10 "$NETPOOL_APT_UPDATE_TIMEOUT" \
            apt-get update -qq "${APT_STALL_OPTIONS[@]}" || rc=$?
        if [ "$rc" = 0 ]; then
            echo "$tag: package lists updated"
            return 0
        fi
        if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
            echo "$tag: apt-get update did not finish within" \
                "${NETPOOL_APT_UPDATE_TIMEOUT} s"
        else
            echo "$tag: apt-get update failed (status $rc)"
        fi
    done
    return 1
}
