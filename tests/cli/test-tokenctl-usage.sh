#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# vfio-tokenctl's command line and failure paths that need no vfio-tokend: usage errors exit 2
# (a malformed address too, before any connection), an unreachable bus exits 7, and on a real
# (private) bus where nobody owns org.vfio.Tokend1 every verb exits 7 saying "vfio-tokend is not
# running", on one line of stderr and with nothing on stdout. Then, on the same bus, a stand-in
# for the daemon (fake-tokend, fixed objects and answers) pins the exact output of every verb,
# text and --json, with every option (--no-legend, --no-pager, -q, --token-fd), and the exit
# code of every D-Bus error the daemon may answer with. The real daemon's paths are covered by
# the integration suite; the --json keys against the man page by test-tokenctl-json.sh.

set -euo pipefail

# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

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

# check_file WHAT FILE EXPECTED: FILE holds exactly EXPECTED (plus a newline, unless empty).
check_file() {
        checks=$((checks + 1))
        if [[ -z $3 && ! -s $2 ]] || [[ -n $3 && $(cat "$2") == "$3" && $(wc -l <"$2") -eq 1 ]]; then
                echo "ok: $1"
        else
                echo "FAIL: $1: got '$(cat "$2")'"
                failures=$((failures + 1))
        fi
}

# check_hold_pipe: `acquire --hold --token-fd=3` into a pipe: the reader gets the token and end
# of file while the lease is held, and SIGTERM ends the hold with exit 0.
check_hold_pipe() {
        local pid rc=0 got
        checks=$((checks + 1))
        mkfifo "$tmp/fifo"
        "$tokenctl" "$a" --no-ask-password acquire --hold --token-fd=3 0000:3b:02.0 \
                3>"$tmp/fifo" >"$tmp/hold.out" 2>&1 </dev/null &
        pid=$!
        # cat returns at end of file only: the fd was closed while the hold goes on.
        got=$(timeout 10 cat "$tmp/fifo") || rc=$?
        if [[ $rc -ne 0 || $got != "$token" ]] || ! kill -0 "$pid" 2>/dev/null; then
                echo "FAIL: acquire --hold --token-fd=3: rc $rc, got '$got'; $(cat "$tmp/hold.out")"
                failures=$((failures + 1))
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
                return 0
        fi
        kill -TERM "$pid"
        rc=0
        wait "$pid" || rc=$?
        if [[ $rc -ne 0 || -s $tmp/hold.out ]]; then
                echo "FAIL: acquire --hold --token-fd=3: exit $rc after SIGTERM; $(cat "$tmp/hold.out")"
                failures=$((failures + 1))
        else
                echo "ok: acquire --hold --token-fd=3: token and end of file through a pipe, exit 0 on SIGTERM"
        fi
}

# --- Exit 0, output on stdout -----------------------------------------------------------
for a in --help -h "list --help"; do
        checks=$((checks + 1))
        # shellcheck disable=SC2086
        if "$tokenctl" $a >"$tmp/out" 2>"$tmp/err" && grep -q '^vfio-tokenctl \[OPTIONS...\] \[COMMAND\]' "$tmp/out" &&
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
expect 2 "too few arguments for 'retry'" retry
expect 2 "too many arguments for 'retry'" retry 0000:3b:00.0 0000:3b:00.1
expect 2 '--hold is only for' --hold list
expect 2 '--hold is only for' exec --hold 0000:3b:02.0 -- true
expect 2 '--force is only for' acquire --force 0000:3b:02.0
expect 2 'not a lease number or D-Bus object path' release not/a/path
expect 2 'not a lease number or D-Bus object path' release /org/vfio/Tokend1/lease/
expect 2 'not a lease number or D-Bus object path' release -- -7
expect 2 'not a lease number or D-Bus object path' release 7a
# A malformed DEVICE, for every verb that takes one.
for bad in 0000:1:00.1 3b:02.0 000:3b:02.0 000000000:3b:02.0 0000:3b:20.0 0000:3b:02.8 0000:3b:02 \
        0000:3b:02.0x 0000:3b-02.0 ''; do
        expect 2 "invalid PCI address '$bad' \\(expected DDDD:BB:DD.F\\)\$" --no-ask-password acquire "$bad"
done
expect 2 "invalid PCI address 'x'" status x
expect 2 "invalid PCI address 'x'" --no-ask-password rotate --force x
expect 2 "invalid PCI address 'x'" --no-ask-password retry x
expect 2 "invalid PCI address 'x'" --no-ask-password exec x -- true
expect 2 "invalid PCI address 'x'" --no-ask-password exec --token-fd=3 x -- true
# --token-fd
expect 2 "--token-fd= needs a file descriptor number, not 'x'" acquire --token-fd=x 0000:3b:02.0
expect 2 "--token-fd= needs a file descriptor number, not ''" acquire --token-fd= 0000:3b:02.0
expect 2 "--token-fd= needs a file descriptor number, not '-1'" acquire --token-fd=-1 0000:3b:02.0
expect 2 "--token-fd= needs a file descriptor number, not '99999999999'" acquire --token-fd=99999999999 0000:3b:02.0
expect 2 "option '--token-fd' needs an argument" acquire 0000:3b:02.0 --token-fd
expect 2 "--token-fd is only for 'acquire' and 'exec'" --token-fd=3 list
expect 2 "--token-fd is only for 'acquire' and 'exec'" rotate --token-fd=3 0000:3b:00.0
expect 2 '--token-fd=9: not a file descriptor open for writing' --no-ask-password acquire --token-fd=9 0000:3b:02.0
expect 2 '--token-fd=0: not a file descriptor open for writing' --no-ask-password acquire --token-fd=0 0000:3b:02.0

# --- No bus at all: exit 7 ---------------------------------------------------------------
# No command is `list`.
expect 7 'cannot connect to the system bus'
expect 7 'cannot connect to the system bus' --json --no-legend --no-pager -q
expect 7 'cannot connect to the system bus' list
# The longest domain the kernel names is well-formed: it goes to the daemon.
expect 7 'cannot connect to the system bus' --no-ask-password acquire 1234abcd:3b:1f.7
expect 7 'cannot connect to the system bus' --no-ask-password acquire 0000:3b:02.0
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" list
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" status
# After exec's DEVICE everything is the command: this --address is not ours.
expect 7 'cannot connect to the system bus' exec 0000:3b:02.0 --address=x true
expect 7 'cannot connect to the bus at unix:path=' --address="unix:path=$tmp/missing" exec 0000:3b:02.0 true

# --- A private bus where nobody owns org.vfio.Tokend1: exit 7, ServiceUnknown ------------
have_bus=no
if ! start_bus; then
        echo "SKIP: dbus-daemon not found: bus tests not run"
else
        have_bus=yes
        # Not the bus's words ("not provided by any .service files"): what the user can act on.
        unknown='vfio-tokend is not running$'
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
        expect 7 "failed to release /org/vfio/Tokend1/lease/1: $unknown" \
                --address="$address" release /org/vfio/Tokend1/lease/1
        expect 7 "failed to list physical functions: $unknown" --address="$address" release 1
        expect 7 "failed to list physical functions: $unknown" --address="$address"
        # The system bus address is honoured the same way.
        DBUS_SYSTEM_BUS_ADDRESS=$address expect 7 "failed to list physical functions: $unknown" list
fi

# --- A stand-in daemon on that bus: output and exit codes --------------------------------
if [[ $have_bus != yes ]]; then
        :
elif ! start_fake; then
        echo "SKIP: $fake not built: stand-in daemon tests not run"
else
        a=--address=$address
        # As the daemon makes them: sd_bus_path_encode() of the address, the lease's number.
        pf=/org/vfio/Tokend1/pf/_30000_3a3b_3a00_2e0
        pf2=/org/vfio/Tokend1/pf/_30000_3aaf_3a00_2e0
        lease=/org/vfio/Tokend1/lease/1
        lease2=/org/vfio/Tokend1/lease/2
        token=5d2c4f0e-8a1b-4c3d-9e7f-0a1b2c3d4e5f
        pf_json='{"address":"0000:3b:00.0","path":"'$pf'","driver":"vfio-pci","state":"ready",'
        pf_json+='"state_reason":"","api":"group","num_vfs":2,"total_vfs":8,'
        pf_json+='"virtual_functions":["0000:3b:02.0","0000:3b:02.1"],"token_generation":3,'
        pf_json+='"token_set_timestamp":1714564800000000,"leases":["'$lease'","'$lease2'"]}'
        pf2_json='{"address":"0000:af:00.0","path":"'$pf2'","driver":"vfio-pci","state":"locked",'
        pf2_json+='"state_reason":"VFs in use with a token not on record","api":"cdev","num_vfs":0,'
        pf2_json+='"total_vfs":16,"virtual_functions":[],"token_generation":0,"token_set_timestamp":0,"leases":[]}'
        lease_json='{"path":"'$lease'","pf_path":"'$pf'","pf_address":"0000:3b:00.0","device":"0000:3b:02.0",'
        lease_json+='"uid":0,"user":"root","pid":4242,"owner":":1.42","acquired":1714568400000000}'
        lease2_json='{"path":"'$lease2'","pf_path":"'$pf'","pf_address":"0000:3b:00.0","device":"0000:3b:02.1",'
        lease2_json+='"uid":3999999,"user":null,"pid":77,"owner":":1.1337","acquired":1714572000000000}'
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
           Leases: $lease
                   $lease2"
        list_rows="0000:3b:00.0  vfio-pci  ready   group  2/8   3           2024-05-01 12:00:00 UTC  2
0000:af:00.0  vfio-pci  locked  cdev   0/16  0           -                        0"
        # The uid without a name is shown as the number.
        lease_rows="$lease  0000:3b:00.0  0000:3b:02.0  0        root     4242  :1.42    2024-05-01 13:00:00 UTC
$lease2  0000:3b:00.0  0000:3b:02.1  3999999  3999999  77    :1.1337  2024-05-01 14:00:00 UTC"

        expect_output "$a" list <<EOF
ADDRESS       DRIVER    STATE   API    VFS   GENERATION  TOKEN SET                LEASES
$list_rows

2 physical functions listed.
EOF
        # No command is list; --no-pager changes nothing (there is no pager).
        expect_output "$a" --no-pager <<EOF
ADDRESS       DRIVER    STATE   API    VFS   GENERATION  TOKEN SET                LEASES
$list_rows

2 physical functions listed.
EOF
        expect_output "$a" --no-legend list <<<"$list_rows"
        expect_output "$a" list --no-legend -q <<<"$list_rows"
        expect_output "$a" --json list <<<"[$pf_json,$pf2_json]"
        expect_output "$a" --json <<<"[$pf_json,$pf2_json]"
        expect_output "$a" --json status <<<"[$pf_json,$pf2_json]"
        # StateReason is shown when there is one.
        expect_output "$a" status <<EOF
$pf_status

0000:af:00.0
             Path: $pf2
            State: locked
      StateReason: VFs in use with a token not on record
           Driver: vfio-pci
              Api: cdev
           NumVFs: 0 of 16
 VirtualFunctions: -
  TokenGeneration: 0
TokenSetTimestamp: -
           Leases: -
EOF
        expect_output "$a" status 0000:3b:02.1 <<<"$pf_status"
        expect_output "$a" --no-legend status 0000:3b:02.1 <<<"$pf_status"
        expect_output "$a" --json status 0000:af:00.0 <<<"$pf2_json"
        expect_output "$a" leases <<EOF
LEASE                      PF            DEVICE        UID      USER     PID   OWNER    ACQUIRED
$lease_rows

2 leases listed.
EOF
        expect_output "$a" leases --no-legend <<<"$lease_rows"
        expect_output "$a" --json leases <<<"[$lease_json,$lease2_json]"
        expect_output "$a" --json --no-legend leases <<<"[$lease_json,$lease2_json]"

        expect_output "$a" --no-ask-password acquire 0000:3b:02.0 <<<"$token"
        expect_output "$a" --no-ask-password -q acquire 0000:3b:02.0 <<<"$token"
        expect_output "$a" --no-ask-password --json acquire 0000:3b:02.0 \
                <<<'{"device":"0000:3b:02.0","token":"'$token'","lease":"'$lease'"}'
        # --token-fd: the token there, and nothing but the JSON (without it) on stdout.
        expect_output "$a" --no-ask-password acquire --token-fd=3 0000:3b:02.0 3>"$tmp/token" </dev/null
        check_file "acquire --token-fd=3 wrote the token to fd 3" "$tmp/token" "$token"
        expect_output "$a" --no-ask-password --json acquire 0000:3b:02.0 --token-fd=3 3>"$tmp/token" \
                <<<'{"device":"0000:3b:02.0","lease":"'$lease'"}'
        check_file "acquire --json --token-fd=3 wrote the token to fd 3" "$tmp/token" "$token"
        # The fd is closed once written: a reader of a pipe sees the end while --hold goes on.
        check_hold_pipe
        # shellcheck disable=SC2016 # expanded by the inner shell
        expect_output "$a" --no-ask-password exec 0000:3b:02.0 -- sh -c 'echo "$VFIO_VF_TOKEN"' <<<"$token"
        # exec --token-fd: on that fd of the command's, and not in its environment.
        # shellcheck disable=SC2016
        expect_output "$a" --no-ask-password exec --token-fd=3 0000:3b:02.0 -- \
                sh -c 'read -r t <&3 && echo "$t ${VFIO_VF_TOKEN-unset}"; cat <&3' <<<"$token unset"
        # shellcheck disable=SC2016
        expect_output "$a" --no-ask-password exec --token-fd=0 0000:3b:02.0 \
                sh -c 'read -r t && echo "$t"' <<<"$token"
        # An fd open here too is replaced in the command.
        # shellcheck disable=SC2016
        expect_output "$a" --no-ask-password exec --token-fd=5 0000:3b:02.0 \
                sh -c 'read -r t <&5 && echo "$t"' 5</dev/null <<<"$token"
        expect_output "$a" --no-ask-password rotate --force 0000:3b:02.0 <<<4
        expect_output "$a" --no-ask-password -q rotate --force 0000:3b:02.0 </dev/null
        expect_output "$a" --no-ask-password --json rotate --force 0000:3b:02.1 \
                <<<'{"device":"0000:3b:02.1","pf_path":"'$pf'","token_generation":4}'
        expect_output "$a" --no-ask-password --json -q rotate --force 0000:3b:00.0 \
                <<<'{"device":"0000:3b:00.0","pf_path":"'$pf'","token_generation":4}'
        expect_output "$a" --no-ask-password retry 0000:3b:02.1 <<<ready
        expect_output "$a" --no-ask-password retry 0000:af:00.0 <<<locked
        expect_output "$a" --no-ask-password -q retry 0000:af:00.0 </dev/null
        expect_output "$a" --no-ask-password --json retry 0000:af:00.0 \
                <<<'{"device":"0000:af:00.0","pf_path":"'$pf2'","state":"locked"}'
        expect_output "$a" release "$lease" </dev/null
        # By number: looked up among the leases the PFs list.
        expect_output "$a" release 1 </dev/null
        expect_output "$a" --json release 1 </dev/null

        # Each answer of the daemon's to its exit code, with the daemon's message, or one of ours
        # where it sent none.
        acq="failed to acquire the token for"
        expect 2 "$acq 0000:3b:03.0: Unknown option" "$a" --no-ask-password acquire 0000:3b:03.0
        expect 3 "$acq 0000:3b:02.1: Not authorized" "$a" --no-ask-password acquire 0000:3b:02.1
        expect 3 "failed to release $lease2: Only the lease's owner or root" "$a" release 2
        expect 3 "failed to release $lease2: Only the lease's owner or root" "$a" release "$lease2"
        expect 4 "$acq 0000:99:00.0: 0000:99:00.0 is not a managed" \
                "$a" --no-ask-password acquire 0000:99:00.0
        expect 4 "failed to look up 0000:99:00.0: 0000:99:00.0 is not a managed" "$a" status 0000:99:00.0
        expect 4 "failed to look up 0000:99:00.0: 0000:99:00.0 is not a managed" \
                "$a" --no-ask-password retry 0000:99:00.0
        expect 4 "failed to release ${lease}_gone: Unknown object" "$a" release "${lease}_gone"
        expect 4 "no lease 9 \\(see 'vfio-tokenctl leases'\\)$" "$a" release 9
        expect 4 "no lease 01 " "$a" release 01
        expect 5 "$acq 0000:3b:02.7: PF 0000:3b:00.0 is locked" "$a" --no-ask-password acquire 0000:3b:02.7
        # Busy from rotate names --force: the daemon's words where they do, else a hint of ours.
        expect 5 "failed to rotate the token of 0000:3b:00.0: PF 0000:3b:00.0 has 2 lease\\(s\\); .*--force" \
                "$a" --no-ask-password rotate 0000:3b:00.0
        expect 5 "failed to rotate the token of 0000:af:00.0: PF has leases; not rotating without force\\. \\(--force rotates anyway\\)$" \
                "$a" --no-ask-password rotate 0000:af:00.0
        # AuthorizationUnavailable is not a refusal: 8, not 3.
        expect 8 "$acq 0000:3b:02.2: Cannot check the authorization now" \
                "$a" --no-ask-password acquire 0000:3b:02.2
        expect 8 "$acq 0000:3b:02.5: the authorisation could not be checked, try again later\$" \
                "$a" --no-ask-password acquire 0000:3b:02.5
        expect 8 "failed to rotate the token of 0000:af:00.0: the authorisation could not be checked" \
                "$a" --no-ask-password rotate --force 0000:af:00.0
        expect 8 "$acq 0000:3b:02.2: Cannot check the authorization now" \
                "$a" --no-ask-password exec 0000:3b:02.2 -- "$tmp/never-run"
        expect 9 "$acq 0000:3b:02.3: Too many leases" "$a" --no-ask-password acquire 0000:3b:02.3
        expect 9 "$acq 0000:3b:02.6: a limit on requests or leases was reached\$" \
                "$a" --no-ask-password acquire 0000:3b:02.6
        # org.freedesktop.DBus.Error.Failed is a failure, not a refusal (sd-bus would say EACCES).
        expect 1 "$acq 0000:3b:02.4: Granting failed" "$a" --no-ask-password acquire 0000:3b:02.4
        # A refused acquire writes nothing to --token-fd.
        : >"$tmp/token"
        expect 3 "$acq 0000:3b:02.1: Not authorized" "$a" --no-ask-password acquire --token-fd=3 0000:3b:02.1 \
                3>"$tmp/token"
        check_file "a refused acquire leaves --token-fd empty" "$tmp/token" ""
fi

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
