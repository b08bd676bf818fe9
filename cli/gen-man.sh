#!/bin/sh
# gen-man.sh [NETPOOL [MANPAGE]]
#
# Regenerates the command list of the netpool(1) man page from the command
# table (cli/commands.c), through "netpool help --roff": the lines between
# '.\" BEGIN GENERATED COMMANDS' and '.\" END GENERATED COMMANDS' of MANPAGE
# are replaced.  Defaults: build/bin/netpool and doc/netpool.1.  Run it
# after changing the table and commit the result.
set -eu

netpool=${1:-build/bin/netpool}
manpage=${2:-doc/netpool.1}
begin='.\" BEGIN GENERATED COMMANDS'
end='.\" END GENERATED COMMANDS'

if ! grep -qF "$begin" "$manpage" || ! grep -qF "$end" "$manpage"; then
    echo "gen-man.sh: $manpage lacks the generated-section markers" >&2
    exit 1
fi
tmp=$(mktemp)
generated=$(mktemp)
trap 'rm -f "$tmp" "$generated"' EXIT
"$netpool" help --roff >"$generated"

# Through the environment: awk -v would eat the backslashes.
BEGIN_MARK=$begin END_MARK=$end GENERATED=$generated awk '
    $0 == ENVIRON["BEGIN_MARK"] {
        print
        while ((getline line < ENVIRON["GENERATED"]) > 0) print line
        skip = 1
        next
    }
    $0 == ENVIRON["END_MARK"] { skip = 0 }
    !skip { print }
' "$manpage" >"$tmp"
cat "$tmp" >"$manpage"
