#!/usr/bin/env bash
#
# test-docs: the documentation stays in step with the code.  The command
# section of netpool(1) is what the command table generates; every command
# has help; bash completion completes commands and parameters from it; the
# README's set-up commands and CLI tour name commands that exist.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 6

netpool=$NETPOOL_BIN/netpool
copy=$STATE/netpool.1
mkdir -p "$STATE"
cp "$TEST_TOP/doc/netpool.1" "$copy"
"$TEST_TOP/cli/gen-man.sh" "$netpool" "$copy"
ok 'diff -u "$TEST_TOP/doc/netpool.1" "$copy"' \
    "doc/netpool.1 matches the command table (run cli/gen-man.sh)"

missing=
for cmd in $("$netpool" help --list); do
    "$netpool" help "$cmd" > /dev/null 2>&1 || missing="$missing $cmd"
done
is "$missing" "" "every listed command has help"

complete_line() { # LINE: print the completions bash offers at its end
    (
        PATH=$NETPOOL_BIN:$PATH
        # shellcheck source=cli/netpool.bash-completion
        source "$TEST_TOP/cli/netpool.bash-completion"
        COMP_LINE=$1
        COMP_POINT=${#1}
        read -ra COMP_WORDS <<< "$1"
        [[ $1 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _netpool
        printf '%s\n' "${COMPREPLY[@]}"
    )
}
# offers LINE PATTERN: one of the completions of LINE matches PATTERN.  The
# output is captured whole, not piped into grep -q: with pipefail, grep
# leaving early would fail the writer with SIGPIPE.
offers() {
    local out c
    out=$(complete_line "$1")
    for c in $out; do
        # shellcheck disable=SC2053  # $2 is a pattern
        [[ $c == $2 ]] && return 0
    done
    return 1
}
ok 'offers "netpool network-cr" network-create' \
    "completion completes a command name"
ok 'offers "netpool network-create " "name-label="' \
    "completion offers a command's parameters"

tour=$(sed -n '/^## A short CLI tour/,/^## /p' "$TEST_TOP/README.md" \
    | awk '$1 == "netpool" {print $2}' | sort -u)
unknown=
for cmd in $tour; do
    "$netpool" help "$cmd" > /dev/null 2>&1 || unknown="$unknown $cmd"
done
is "$unknown" "" "every command in the README's CLI tour exists"
is "$(grep -cE '^    make (sandbox|check)$' "$TEST_TOP/README.md")" 2 \
    "the README gives the two set-up commands"
