#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfio-tokenctl's command line and failure paths that need no vfio-tokend: usage errors exit 2,
# an unreachable bus exits 7, and on a real (private) bus where nobody owns org.vfio.Tokend1
# every verb exits 7 with the bus's ServiceUnknown message, on one line of stderr and with
# nothing on stdout. The daemon-backed paths are covered by the integration suite.

set -euo pipefail

builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
tokenctl=$builddir/client/vfio-tokenctl
[[ -x $tokenctl ]] || { echo "SKIP: $tokenctl not built"; exit 77; }

tmp=$(mktemp -d /tmp/test-cli-usage.XXXXXX)
bus_pid=
cleanup() {
        if [[ -n $bus_pid ]]; then
                kill "$bus_pid" 2>/dev/null || true
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT

# Never reach a real system bus by accident.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/no-such-socket"
unset DBUS_SESSION_BUS_ADDRESS

failures=0
checks=0

# expect CODE STDERR_PATTERN ARGS...: run vfio-tokenctl ARGS, check the exit code, that stdout
# is empty, and that stderr is one line matching the (grep -E) pattern ('' for no check).
expect() {
        local want=$1 pattern=$2 rc=0
        shift 2
        checks=$((checks + 1))
        "$tokenctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
        if [[ $rc -ne $want ]]; then
                echo "FAIL: vfio-tokenctl $*: exit $rc, expected $want; stderr: $(cat "$tmp/err")"
                failures=$((failures + 1))
                return 0
        fi
        if [[ -s $tmp/out ]]; then
                echo "FAIL: vfio-tokenctl $*: unexpected output on stdout: $(head -c 200 "$tmp/out")"
                failures=$((failures + 1))
                return 0
        fi
        if [[ $(wc -l <"$tmp/err") -ne 1 ]] || ! grep -Eq -- "^vfio-tokenctl: ${pattern}" "$tmp/err"; then
                echo "FAIL: vfio-tokenctl $*: stderr not one line matching '$pattern': $(cat "$tmp/err")"
                failures=$((failures + 1))
                return 0
        fi
        echo "ok: vfio-tokenctl $* -> $rc"
}

# --- Exit 0, output on stdout -----------------------------------------------------------
for a in --help -h "list --help"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        if "$tokenctl" $a >"$tmp/out" 2>"$tmp/err" && grep -q '^vfio-tokenctl \[OPTIONS...\] COMMAND' "$tmp/out" &&
                ! [[ -s $tmp/err ]]; then
                echo "ok: vfio-tokenctl $a"
        else
                echo "FAIL: vfio-tokenctl $a"
                failures=$((failures + 1))
        fi
done
checks=$((checks + 1))
if [[ $("$tokenctl" --version) =~ ^vfio-tokenctl\ [0-9] ]]; then
        echo "ok: vfio-tokenctl --version"
else
        echo "FAIL: vfio-tokenctl --version"
        failures=$((failures + 1))
fi

# --- Usage errors: exit 2, before any connection is tried -------------------------------
expect 2 'missing command'
expect 2 'missing command' --json
expect 2 "unknown command 'frobnicate'" frobnicate
expect 2 "unrecognized option '--frobnicate'" --frobnicate list
expect 2 "invalid option -- 'z'" list -z
expect 2 "option '--address' needs an argument" list --address
expect 2 '--address= needs' --address= list
expect 2 "too many arguments for 'list'" list extra
expect 2 "too many arguments for 'leases'" leases extra
expect 2 "too many arguments for 'status'" status 0000:3b:00.0 0000:3b:00.1
expect 2 "too few arguments for 'acquire'" acquire
expect 2 "too many arguments for 'acquire'" acquire 0000:3b:02.0 0000:3b:02.1
expect 2 "too few arguments for 'exec'" exec
expect 2 "too few arguments for 'exec'" exec 0000:3b:02.0
expect 2 "too few arguments for 'exec'" exec 0000:3b:02.0 --
expect 2 "too few arguments for 'rotate'" rotate
expect 2 "too few arguments for 'release'" release
expect 2 '--hold is only for' --hold list
expect 2 '--hold is only for' exec --hold 0000:3b:02.0 -- true
expect 2 '--force is only for' acquire --force 0000:3b:02.0
expect 2 'not a D-Bus object path' release not/a/path
expect 2 'not a D-Bus object path' release /org/vfio/Tokend1/lease/

# --- No bus at all: exit 7 ---------------------------------------------------------------
expect 7 'cannot connect to the system bus' list
expect 7 'cannot connect to the system bus' --no-ask-password acquire 0000:3b:02.0
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" list
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" status
# After exec's DEVICE everything is the command: this --address is not ours.
expect 7 'cannot connect to the system bus' exec 0000:3b:02.0 --address=x true
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" exec 0000:3b:02.0 true

# --- A private bus where nobody owns org.vfio.Tokend1: exit 7, ServiceUnknown ------------
if ! command -v dbus-daemon >/dev/null; then
        echo "SKIP: dbus-daemon not found: bus tests not run"
else
        cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
        # With --fork, dbus-daemon returns once it listens and has written address and pid.
        dbus-daemon --config-file="$tmp/bus.conf" --fork --nopidfile --nosyslog \
                --print-address=3 --print-pid=4 3>"$tmp/address" 4>"$tmp/pid"
        bus_pid=$(head -n1 "$tmp/pid")
        address=$(head -n1 "$tmp/address")
        [[ -n $address && -n $bus_pid ]] || { echo "FAIL: dbus-daemon did not start"; exit 1; }

        unknown='.*org\.vfio\.Tokend1 was not provided by any \.service files$'
        expect 7 "failed to list physical functions: $unknown" --address="$address" list
        expect 7 "failed to list physical functions: $unknown" --address="$address" --json list
        expect 7 "failed to list physical functions: $unknown" --address="$address" leases
        expect 7 "failed to list physical functions: $unknown" --address="$address" status
        expect 7 "failed to look up 0000:3b:00.0: $unknown" --address="$address" status 0000:3b:00.0
        expect 7 "failed to acquire the token for 0000:3b:02.0: $unknown" \
                --address="$address" --no-ask-password acquire 0000:3b:02.0
        expect 7 "failed to acquire the token for 0000:3b:02.0: $unknown" \
                --address="$address" --no-ask-password acquire --hold 0000:3b:02.0
        expect 7 "failed to acquire the token for 0000:3b:02.0: $unknown" \
                --address="$address" --no-ask-password exec 0000:3b:02.0 -- "$tmp/never-run"
        expect 7 "failed to look up 0000:3b:00.0: $unknown" --address="$address" rotate --force 0000:3b:00.0
        expect 7 "failed to release /org/vfio/Tokend1/lease/_31: $unknown" \
                --address="$address" release /org/vfio/Tokend1/lease/_31
        # The system bus address is honoured the same way.
        DBUS_SYSTEM_BUS_ADDRESS=$address expect 7 "failed to list physical functions: $unknown" list
fi

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
