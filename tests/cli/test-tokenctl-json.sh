#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The --json contract of vfio-tokenctl(1): every verb that prints JSON has an example in the man
# page (marked `.\" json-example: VERB`), every key there is snake_case, and the keys the
# program prints against the stand-in daemon (fake-tokend) are the example's, in its order.
# Where python3 is installed, the examples and the output are also parsed as JSON.

set -euo pipefail

# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

man=$srcdir/man/vfio-tokenctl.1
verbs=(list status leases acquire rotate retry)

failures=0
checks=0
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# example VERB: the JSON of the man page's example for VERB, roff escapes undone.
example() {
        awk -v verb="$1" '
                $0 == ".\\\" json-example: " verb { on = 1; next }
                on && $0 == ".EX" { next }
                on && $0 == ".EE" { exit }
                on { print }' "$man" | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}

# keys: the object keys of the JSON on stdin, one a line, in order of first appearance. Keys
# are the strings followed by a colon; no value here has a quote in it.
keys() {
        grep -oE '"[^"]*"[[:space:]]*:' | sed -E 's/^"([^"]*)".*/\1/' | awk '!seen[$0]++'
}

is_json() {
        ! command -v python3 >/dev/null || python3 -c 'import json, sys; json.load(sys.stdin)'
}

# Every example the page marks is for a known verb, and every verb has one.
checks=$((checks + 1))
marked=$(sed -n 's/^\.\\" json-example: //p' "$man" | sort | tr '\n' ' ')
want=$(printf '%s\n' "${verbs[@]}" | sort | tr '\n' ' ')
if [[ $marked == "$want" ]]; then
        echo "ok: vfio-tokenctl(1) has a --json example for each of: $want"
else
        fail "vfio-tokenctl(1) marks JSON examples for '$marked', expected '$want'"
fi

for verb in "${verbs[@]}"; do
        checks=$((checks + 1))
        example "$verb" >"$tmp/example.$verb"
        keys <"$tmp/example.$verb" >"$tmp/keys.$verb"
        if [[ ! -s $tmp/keys.$verb ]]; then
                fail "the $verb example has no keys"
        elif grep -vqE '^[a-z][a-z0-9]*(_[a-z0-9]+)*$' "$tmp/keys.$verb"; then
                fail "the $verb example has keys not in snake_case: $(grep -vE '^[a-z][a-z0-9]*(_[a-z0-9]+)*$' \
                        "$tmp/keys.$verb" | tr '\n' ' ')"
        elif ! is_json <"$tmp/example.$verb"; then
                fail "the $verb example is not JSON"
        else
                echo "ok: the $verb example: $(tr '\n' ' ' <"$tmp/keys.$verb")"
        fi
done

if ! start_bus; then
        echo "SKIP: dbus-daemon not found: the program's keys not compared"
        echo "$((checks - failures))/$checks checks passed"
        [[ $failures -eq 0 ]]
        exit
fi
start_fake || { echo "SKIP: $fake not built"; exit 77; }

# compare VERB ARGS...: the keys of `vfio-tokenctl --json ARGS` are those of VERB's example.
compare() {
        local verb=$1 rc=0
        shift
        checks=$((checks + 1))
        "$tokenctl" --address="$address" --no-ask-password --json "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
        if [[ $rc -ne 0 ]]; then
                fail "vfio-tokenctl --json $*: exit $rc: $(cat "$tmp/err")"
        elif [[ $(wc -l <"$tmp/out") -ne 1 ]]; then
                fail "vfio-tokenctl --json $*: not one line"
        elif ! is_json <"$tmp/out"; then
                fail "vfio-tokenctl --json $*: not JSON: $(cat "$tmp/out")"
        elif ! diff -u "$tmp/keys.$verb" <(keys <"$tmp/out"); then
                fail "vfio-tokenctl --json $*: keys differ from vfio-tokenctl(1) (above: - the page, + the program)"
        else
                echo "ok: vfio-tokenctl --json $*: the keys of the $verb example"
        fi
}

compare list list
compare list
compare list status
compare status status 0000:af:00.0
compare status status 0000:3b:02.1
compare leases leases
compare acquire acquire 0000:3b:02.0
compare rotate rotate --force 0000:3b:00.0
compare retry retry 0000:af:00.0

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
