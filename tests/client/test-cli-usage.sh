#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfio-tokenctl's command line and failure paths that need no vfio-tokend: usage errors exit 2,
# an unreachable bus exits 7, and on a real (private) bus where nobody owns org.vfio.Tokend1
# every verb exits 7 with the bus's ServiceUnknown message, on one line of stderr and with
# nothing on stdout. Then, on the same bus, a stand-in for the daemon (fake-tokend, fixed objects
# and answers) pins the exact output of every verb, text and --json, and the exit code of every
# D-Bus error the daemon may answer with. The real daemon's paths are covered by the integration
# suite.

set -euo pipefail

builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
tokenctl=$builddir/client/vfio-tokenctl
[[ -x $tokenctl ]] || { echo "SKIP: $tokenctl not built"; exit 77; }

fake=$builddir/tests/client/fake-tokend

tmp=$(mktemp -d /tmp/test-cli-usage.XXXXXX)
bus_pid=
fake_pid=
cleanup() {
        local pid
        for pid in "$fake_pid" "$bus_pid"; do
                if [[ -n $pid ]]; then
                        kill "$pid" 2>/dev/null || true
                fi
        done
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

# expect_output ARGS... <<EXPECTED: run vfio-tokenctl ARGS, check that it exits 0 with nothing on
# stderr and exactly EXPECTED (standard input) on stdout.
expect_output() {
        local rc=0
        checks=$((checks + 1))
        cat >"$tmp/want"
        "$tokenctl" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
        if [[ $rc -ne 0 || -s $tmp/err ]]; then
                echo "FAIL: vfio-tokenctl $*: exit $rc, expected 0; stderr: $(cat "$tmp/err")"
                failures=$((failures + 1))
        elif ! diff -u "$tmp/want" "$tmp/out"; then
                echo "FAIL: vfio-tokenctl $*: output differs (above: - expected, + got)"
                failures=$((failures + 1))
        else
                echo "ok: vfio-tokenctl $*"
        fi
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

# --- A stand-in daemon on that bus: output and exit codes --------------------------------
if [[ -z $bus_pid ]]; then
        :
elif [[ ! -x $fake ]]; then
        echo "SKIP: $fake not built: stand-in daemon tests not run"
else
        "$fake" "$address" >"$tmp/fake.out" 2>&1 &
        fake_pid=$!
        for _ in $(seq 50); do
                grep -q '^ready$' "$tmp/fake.out" && break
                sleep 0.1
        done
        if ! grep -q '^ready$' "$tmp/fake.out"; then
                echo "FAIL: fake-tokend did not start: $(cat "$tmp/fake.out")"
                exit 1
        fi

        # Timestamps in a fixed zone.
        export TZ=UTC
        a=--address=$address
        pf=/org/vfio/Tokend1/pf/0000_3a3b_3a00_2e0
        pf2=/org/vfio/Tokend1/pf/0000_3aaf_3a00_2e0
        lease=/org/vfio/Tokend1/lease/_31
        token=5d2c4f0e-8a1b-4c3d-9e7f-0a1b2c3d4e5f
        pf_json='{"Address":"0000:3b:00.0","Path":"'$pf'","Driver":"vfio-pci","State":"ready",'
        pf_json+='"Api":"group","NumVFs":2,"TotalVFs":8,"VirtualFunctions":["0000:3b:02.0","0000:3b:02.1"],'
        pf_json+='"TokenGeneration":3,"TokenSetTimestamp":1714564800000000,"Leases":["'$lease'"]}'
        pf2_json='{"Address":"0000:af:00.0","Path":"'$pf2'","Driver":"vfio-pci","State":"locked",'
        pf2_json+='"Api":"cdev","NumVFs":0,"TotalVFs":16,"VirtualFunctions":[],"TokenGeneration":0,'
        pf2_json+='"TokenSetTimestamp":0,"Leases":[]}'
        lease_json='{"Path":"'$lease'","PhysicalFunction":"'$pf'",'
        lease_json+='"PhysicalFunctionAddress":"0000:3b:00.0","Device":"0000:3b:02.0","Owner":":1.42",'
        lease_json+='"UID":107,"PID":4242,"Acquired":1714568400000000}'
        pf_status="0000:3b:00.0
             Path: $pf
            State: ready
           Driver: vfio-pci
              Api: group
           NumVFs: 2 of 8
 VirtualFunctions: 0000:3b:02.0
                   0000:3b:02.1
  TokenGeneration: 3
TokenSetTimestamp: 2024-05-01 12:00:00 UTC
           Leases: $lease"

        expect_output "$a" list <<EOF
ADDRESS       DRIVER    STATE   API    VFS   GENERATION  TOKEN SET                LEASES
0000:3b:00.0  vfio-pci  ready   group  2/8   3           2024-05-01 12:00:00 UTC  1
0000:af:00.0  vfio-pci  locked  cdev   0/16  0           -                        0
EOF
        expect_output "$a" --json list <<<"[$pf_json,$pf2_json]"
        expect_output "$a" --json status <<<"[$pf_json,$pf2_json]"
        expect_output "$a" status <<EOF
$pf_status

0000:af:00.0
             Path: $pf2
            State: locked
           Driver: vfio-pci
              Api: cdev
           NumVFs: 0 of 16
 VirtualFunctions: -
  TokenGeneration: 0
TokenSetTimestamp: -
           Leases: -
EOF
        expect_output "$a" status 0000:3b:02.1 <<<"$pf_status"
        expect_output "$a" --json status 0000:af:00.0 <<<"$pf2_json"
        expect_output "$a" leases <<EOF
LEASE                        PF            DEVICE        OWNER  UID  PID   ACQUIRED
$lease  0000:3b:00.0  0000:3b:02.0  :1.42  107  4242  2024-05-01 13:00:00 UTC
EOF
        expect_output "$a" --json leases <<<"[$lease_json]"
        expect_output "$a" --no-ask-password acquire 0000:3b:02.0 <<<"$token"
        expect_output "$a" --no-ask-password --json acquire 0000:3b:02.0 \
                <<<'{"token":"'$token'","lease":"'$lease'"}'
        # shellcheck disable=SC2016 # expanded by the inner shell
        expect_output "$a" --no-ask-password exec 0000:3b:02.0 -- sh -c 'echo "$VFIO_VF_TOKEN"' <<<"$token"
        expect_output "$a" --no-ask-password rotate --force 0000:3b:02.0 <<<4
        expect_output "$a" --no-ask-password --json rotate --force 0000:3b:00.0 <<<'{"generation":4}'
        expect_output "$a" release "$lease" </dev/null

        # Each answer of the daemon's to its exit code, with the daemon's message, or one of ours
        # where it sent none.
        acq="failed to acquire the token for"
        expect 2 "$acq 0000:1:00.1: Invalid PCI address" "$a" --no-ask-password acquire 0000:1:00.1
        expect 3 "$acq 0000:3b:02.1: Not authorized" "$a" --no-ask-password acquire 0000:3b:02.1
        expect 4 "$acq 0000:99:00.0: 0000:99:00.0 is not a managed" \
                "$a" --no-ask-password acquire 0000:99:00.0
        expect 4 "failed to look up 0000:99:00.0: 0000:99:00.0 is not a managed" "$a" status 0000:99:00.0
        expect 4 "failed to release ${lease}_gone: Unknown object" "$a" release "${lease}_gone"
        expect 5 "$acq 0000:3b:02.7: PF 0000:3b:00.0 is locked" "$a" --no-ask-password acquire 0000:3b:02.7
        expect 5 "failed to rotate the token of 0000:3b:00.0: PF has leases" \
                "$a" --no-ask-password rotate 0000:3b:00.0
        expect 8 "$acq 0000:3b:02.2: Cannot check the authorization now" \
                "$a" --no-ask-password acquire 0000:3b:02.2
        expect 8 "$acq 0000:3b:02.5: the authorisation could not be checked, try again later\$" \
                "$a" --no-ask-password acquire 0000:3b:02.5
        expect 8 "failed to rotate the token of 0000:af:00.0: the authorisation could not be checked" \
                "$a" --no-ask-password rotate --force 0000:af:00.0
        expect 9 "$acq 0000:3b:02.3: Too many leases" "$a" --no-ask-password acquire 0000:3b:02.3
        expect 9 "$acq 0000:3b:02.6: a limit on requests or leases was reached\$" \
                "$a" --no-ask-password acquire 0000:3b:02.6
        # org.freedesktop.DBus.Error.Failed is a failure, not a refusal (sd-bus would say EACCES).
        expect 1 "$acq 0000:3b:02.4: Granting failed" "$a" --no-ask-password acquire 0000:3b:02.4
fi

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
