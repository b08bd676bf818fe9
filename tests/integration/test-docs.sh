#!/usr/bin/env bash
#
# test-docs: the documentation stays in step with the code.  The command
# section of netpool(1) is what the command table generates; every command
# has help; bash completion completes commands and parameters from it; the
# README's set-up commands and CLI tour name commands that exist; the
# README's map of the tree ("How it is built") names every top-level folder
# and only folders that exist, and every path of the tree the README names
# exists (checked on the README, and on a copy naming a missing folder,
# which must fail); every make target `make help` lists is in the README.
#
# shellcheck disable=SC2016
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

plan 10

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
undocumented=
for target in $(make -s -C "$TEST_TOP" help | grep -oE '(^|[ :;])make [a-z-]+' |
    awk '{print $2}' | sort -u); do
    grep -q "make $target\b" "$TEST_TOP/README.md" ||
        undocumented="$undocumented $target"
done
is "$undocumented" "" "the README names every target of make help"

# Folders the README's map of the tree names: the lines of the "How it is
# built" block indented by exactly four spaces.
readme_map() { # README
    sed -n '/^## How it is built/,/^## /p' "$1" |
        awk '/^    [^ ]/ && $1 ~ /\/$/ { sub(/\/$/, "", $1); print $1 }'
}
# Top-level folders of the tree (git's, so build outputs do not count;
# hidden ones are tooling).
tree_folders() {
    git -C "$TEST_TOP" ls-files | awk -F/ 'NF > 1 && $1 !~ /^\./ { print $1 }' |
        sort -u
}
# Every problem with the README's folders, one line each; status 1 if any.
readme_folder_problems() { # README
    local readme=$1 map folder path problems=""
    map=$(readme_map "$readme" | sort -u)
    for folder in $map; do
        [ -d "$TEST_TOP/$folder" ] ||
            problems+="the map names $folder/, which does not exist"$'\n'
    done
    for folder in $(tree_folders); do
        grep -qx -- "$folder" <<< "$map" ||
            problems+="the map does not name $folder/"$'\n'
    done
    # Paths of the tree named anywhere (not build outputs or sandbox state).
    for path in $(grep -oE '(^|[^A-Za-z0-9_./-])[a-z][a-z0-9_-]*/[A-Za-z0-9_./-]*' \
        "$readme" | sed -E 's/^[^a-z]//; s/[.]+$//' | sort -u); do
        folder=${path%%/*}
        grep -qx -- "$folder" <<< "$(tree_folders)"$'\n'"$map" || continue
        case "$path" in build/* | sandbox/state/*) continue ;; esac
        [ -e "$TEST_TOP/$path" ] ||
            problems+="the README names $path, which does not exist"$'\n'
    done
    printf '%s' "$problems"
    [ -z "$problems" ]
}

problems=$(readme_folder_problems "$TEST_TOP/README.md") || true
is "$problems" "" "the README's map names every top-level folder, and every path it names exists"
diag "map: $(readme_map "$TEST_TOP/README.md" | paste -sd ' ')"

doctored=$STATE/README.md
sed 's|^    lib/ |    nosuchdir/  a folder that is not there\n&|' \
    "$TEST_TOP/README.md" | sed 's/\\n/\n/' > "$doctored"
problems=$(readme_folder_problems "$doctored") && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $problems == *"names nosuchdir/, which does not exist"* ]]' \
    "the check fails on a README whose map names a missing folder"
sed 's|tests/guest/build.sh|tests/guest/nosuch.sh|' "$TEST_TOP/README.md" \
    > "$doctored"
problems=$(readme_folder_problems "$doctored") && rc=0 || rc=$?
ok '[ "$rc" = 1 ] && [[ $problems == *"names tests/guest/nosuch.sh"* ]]' \
    "... and on a README naming a file the tree does not have"
