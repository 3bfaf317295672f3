#!/bin/bash
# Guest job: the installed vfio-tokend on the real vfio-pci, with a real dbus-daemon and polkitd
# (tests/integration/lib.sh, in its own mount namespace) and unprivileged clients, in one boot:
#  1. started as root on a PF that sits on nvme, it binds it, enables 2 VFs, opens it, sets a
#     token, serves org.vfio.Tokend1 and runs as user vfio-tokend;
#  2. alice (allowed by tests/integration/rules/50-test.rules) gets the token and opens a VF
#     with it, the kernel refuses no token and a wrong one; bob gets AccessDenied and no token;
#  3. a forced rotation while a VF fd is held: the held fd keeps working, the old token is
#     refused, the new one opens;
#  4. kill -9 with the VF held and a restart: the PF is reopened with the token on record and the
#     same token granted; then the same after a crash injected between the steps of a rotation
#     (tests/vfio-tokend-crashpoints, after the pending token is on disk, and after the SET).
# Last: no token the test saw is in the daemon's log (all its starts).
# With VM_API=cdev (a kernel with the VFIO cdev) the daemon is configured with Api=cdev and the
# checks of the PF's node are of its cdev (/dev/vfio/devices/vfioN) instead of its group node;
# VFs are then also bound through their own cdevs (tests/vm/vfio-pf, VFIO_DEVICE_BIND_IOMMUFD
# with VFIO_DEVICE_BIND_FLAG_TOKEN) with the granted tokens, before and after the rotation.
#
# Run by check-vm.sh as `run-vm.sh --share DIR --env VF_OPEN=... --env top_builddir=...
# --env VM_DESTDIR=... --env VM_OUT=DIR KERNEL -- job-daemon.sh` (the PF starts on nvme, the
# prep done). The build tree must be built (make all). Without VM_DESTDIR `make install` runs in
# the guest, into its copy-on-write root: then share a directory other than the source tree, so
# nothing make writes reaches the host's tree.
# Prints "PASS: what" / "FAIL: what" lines (check-vm.sh counts them); exits non-zero if any
# check failed. Copies the daemon's log and the install log to $VM_OUT if set.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
harness_enter_namespace "$@"

# shellcheck source=tests/vm/job-lib.sh
. "$(dirname "$0")/job-lib.sh"
B=$TK_BUILDDIR
CRASHD=$B/tests/vfio-tokend-crashpoints

for f in "$B/vfio-tokend" "$B/client/vfio-tokenctl" "$CRASHD" "${VF_OPEN:?}" "$B/tests/vm/vfio-pf"; do
        [[ -x $f ]] || tk_die "$f is not built (make all)"
done

# --- The installed daemon, in the guest's root (a tmpfs overlay over the host's). With
# VM_DESTDIR: the host's `make install DESTDIR=$VM_DESTDIR` (check-vm.sh runs it there, as a
# make install under TCG takes 20 s) copied over /; else `make install` here. -----------------
# tar, not cp -a: / has directory symlinks (/lib -> usr/lib) and keeps its own modes.
copy_destdir() {
        tar -C "$VM_DESTDIR" -cf - . | tar -C / -xf - --keep-directory-symlink --no-overwrite-dir
}
install_log=$(mktemp /tmp/vfio-tokend-install.XXXXXX)
if [[ -n ${VM_DESTDIR:-} ]]; then
        how="make install (DESTDIR, on the host), copied into the guest's /"
        install_cmd=(copy_destdir)
else
        how="make install in the guest"
        install_cmd=(make -C "$B" install)
fi
if "${install_cmd[@]}" >"$install_log" 2>&1; then
        install_ok=1
else
        install_ok=0
        tail -n 20 "$install_log" | sed 's/^/#   /'
fi
[[ -z ${VM_OUT:-} ]] || cp "$install_log" "$VM_OUT/install.log"
TOKEND=$(command -v vfio-tokend || true)
TOKENCTL=$(command -v vfio-tokenctl || true)
harness_start
trap 'rc=$?; save_logs; (exit $rc); tk_cleanup' EXIT
check "$how" test "$install_ok" = 1
# What the job runs is what make installed: the staged copy (the build tree may have been rebuilt
# since), or the built program.
is_installed() {
        [[ -n $1 ]] || return 1
        if [[ -n ${VM_DESTDIR:-} ]]; then
                cmp -s "$1" "$VM_DESTDIR$1"
        else
                cmp -s "$1" "$2"
        fi
}
check "vfio-tokend on PATH (${TOKEND:-none}) is the installed one" is_installed "$TOKEND" "$B/vfio-tokend"
check "vfio-tokenctl on PATH (${TOKENCTL:-none}) is the installed one" is_installed "$TOKENCTL" "$B/client/vfio-tokenctl"
[[ $install_ok == 1 && -x $TOKEND && -x $TOKENCTL ]] || tk_die "no installed daemon to test"

CONF=$TK_TMP/vfio-tokend.conf
STATE=$TK_TMP/state
SEEN=$TK_TMP/tokens-seen
: >"$SEEN"
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$PF
NumVFs=2
BindVFIO=yes
RotateWhenIdle=no
EOF
API=${VM_API:-group}
[[ $API == group ]] || echo "Api=$API" >>"$CONF"

# Users' programs run from here: the VM cache need not be readable for them.
install -m 0755 "$VF_OPEN" "$TK_TMP/vf-open"
VF_OPEN=$TK_TMP/vf-open

save_logs() {
        [[ -z ${VM_OUT:-} ]] || cp "$TK_TMP/daemon.log" "$VM_OUT/daemon.log" 2>/dev/null || true
}

start_tokend() {
        start_daemon "$TOKEND" --config="$CONF" --state-dir="$STATE"
}

# tokenctl USER ARGS...: vfio-tokenctl as USER (root: as is); stdout only, never asks.
tokenctl() {
        local user=$1
        shift
        if [[ $user == root ]]; then
                "$TOKENCTL" --no-ask-password "$@"
        else
                run_as "$user" "$TOKENCTL" --no-ask-password "$@"
        fi
}

# acquire USER DEVICE: sets TOKEN to what `vfio-tokenctl acquire` printed, TK_RC to its exit code.
acquire() {
        TK_RC=0
        TOKEN=$(tokenctl "$1" acquire "$2" 2>/dev/null) || TK_RC=$?
        seen "$TOKEN"
}

# vf_open [--as USER] DEVICE [TOKEN]: open DEVICE as a VMM does (alice by default) and close it;
# prints OK or the errno name.
vf_open() {
        local user=alice dev tok
        [[ $1 == --as ]] && { user=$2; shift 2; }
        dev=$1 tok=${2:-}
        if [[ $user == root ]]; then
                "$VF_OPEN" ${tok:+--token "$tok"} "$dev" 2>/dev/null | tail -n 1
        else
                run_as "$user" "$VF_OPEN" ${tok:+--token "$tok"} "$dev" 2>/dev/null | tail -n 1
        fi
}

# A VF fd held open by alice (a running VM): vf-open --hold, its stdin a fifo whose only writer
# is a helper that never writes, so nothing started later keeps it by inheritance; SIGUSR1 asks
# it to issue an ioctl on the held fd and print OK or the errno name. vf_hold DEVICE TOKEN, not
# in $(...) (it sets HOLD_PID); what the open gave is the first line of $HOLD_OUT.
HOLD_PID='' HOLD_STDIN='' HOLD_OUT=$TK_TMP/hold.out
vf_hold() {
        local -a cmd
        mkfifo "$TK_TMP/hold.in"
        sleep infinity >"$TK_TMP/hold.in" &
        HOLD_STDIN=$!
        tk_register_pid "$HOLD_STDIN"
        # Not run_as_bg: bash gives an asynchronous command /dev/null for stdin unless the
        # command itself redirects it.
        tk_as_user_cmd alice "$VF_OPEN" --hold --token "$2" "$1"
        "${cmd[@]}" <"$TK_TMP/hold.in" >"$HOLD_OUT" 2>&1 &
        HOLD_PID=$!
        tk_register_pid "$HOLD_PID"
        wait_until grep -qs . "$HOLD_OUT" || tk_die "vf-open --hold $1 said nothing"
}

tk_gone() {
        ! tk_alive "$1"
}

lines_at_least() {
        (($(wc -l <"$HOLD_OUT") >= $1))
}

# held_fd_works: the held VF fd answers an ioctl now; prints OK or the errno name.
held_fd_works() {
        local n
        tk_alive "$HOLD_PID" || { echo "holder gone"; return; }
        n=$(wc -l <"$HOLD_OUT")
        kill -USR1 "$HOLD_PID"
        wait_until lines_at_least $((n + 1)) || { echo "no answer"; return; }
        sed -n "$((n + 1))p" "$HOLD_OUT"
}

status_field() {
        awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

# pf_prop NAME: a property of the PF from `vfio-tokenctl status` (State, TokenGeneration, ...).
pf_prop() {
        tokenctl root status "$PF" 2>/dev/null | awk -v f="$1:" '$1 == f { print $2 }'
}

opened_count() {
        grep -c "PF $PF: Ready ($API API, opened" "$TK_DAEMON_LOG" || true
}

# The daemon holds the PF's node open (its group node, or its cdev).
daemon_holds_pf() {
        local fd
        for fd in /proc/"$TK_DAEMON_PID"/fd/*; do
                [[ $(readlink "$fd") == "$PF_NODE" ]] && return 0
        done
        return 1
}

# =============================================================================================
# 1. Start on a PF that sits on nvme.
check_eq "the PF starts on nvme" "$(vm_driver "$PF")" nvme
check_eq "with no VFs" "$(cat "$(vm_dev "$PF")/sriov_numvfs")" 0

start_tokend
check_eq "the daemon bound the PF to vfio-pci" "$(vm_driver "$PF")" vfio-pci
check_eq "it enabled 2 VFs" "$(cat "$(vm_dev "$PF")/sriov_numvfs")" 2
check_eq "VF $VF1 is on vfio-pci" "$(vm_driver "$VF1")" vfio-pci
check_eq "VF $VF2 is on vfio-pci" "$(vm_driver "$VF2")" vfio-pci
PF_GROUP=$(vm_group "$PF")
PF_NODE=/dev/vfio/$PF_GROUP
if [[ $API == cdev ]]; then
        PF_NODE=$(ls -d "$(vm_dev "$PF")"/vfio-dev/vfio* 2>/dev/null | head -n1)
        PF_NODE=/dev/vfio/devices/${PF_NODE##*/}
fi
check_eq "it handed $PF_NODE (the PF's $API node) to vfio-tokend" \
        "$(stat -c '%U %a' "$PF_NODE")" "vfio-tokend 600"
uid=$(id -u vfio-tokend)
check_eq "the daemon runs as vfio-tokend" "$(status_field "$TK_DAEMON_PID" Uid)" "$uid $uid $uid $uid"
check_eq "... with no capabilities" "$(status_field "$TK_DAEMON_PID" CapEff) $(status_field "$TK_DAEMON_PID" CapPrm)" \
        "0000000000000000 0000000000000000"
check_eq "the state directory is vfio-tokend's, 0700" "$(stat -c '%U %a' "$STATE")" "vfio-tokend 700"
check "the daemon holds the PF open" daemon_holds_pf
check_eq "nobody else can open the PF" "$(vf_open --as root "$PF")" EBUSY
check_eq "the PF is ready" "$(pf_prop State)" ready
check_eq "with its first token (generation 1)" "$(pf_prop TokenGeneration)" 1
check_contains "the daemon says it set the first token" "$(cat "$TK_DAEMON_LOG")" "Token set (first token), generation 1"

# The VMs' VF group nodes go to alice's group, as libvirt hands them to its qemu user.
for v in "$VF1" "$VF2"; do
        g=$(vm_group "$v")
        chgrp kvm-test "/dev/vfio/$g" && chmod 0660 "/dev/vfio/$g"
done

# cdev_bind DEVICE [TOKEN]: bind DEVICE through its cdev as a VMM with an iommufd does (as root:
# the VF cdevs are root's), then let go; prints OK or the errno name.
cdev_bind() {
        "$B/tests/vm/vfio-pf" --api=cdev ${2:+--token "$2"} "$1" 2>/dev/null | head -n 1
}

# =============================================================================================
# 2. Who gets the token, and what the kernel says about it.
acquire alice "$VF1"
T1=$TOKEN
check_eq "alice: vfio-tokenctl acquire $VF1 exits 0" "$TK_RC" 0
check "... and prints a token" grep -qxE "$UUID_RE" <<<"$T1"
check_eq "alice opens $VF1 with it" "$(vf_open "$VF1 vf_token=$T1")" OK
check_eq "alice: $VF1 without a token" "$(vf_open "$VF1")" EACCES
check_eq "alice: $VF1 with a wrong token" "$(vf_open "$VF1" "$(cat /proc/sys/kernel/random/uuid)")" EACCES
if [[ $API == cdev ]]; then
        check_eq "$VF2 bound by its cdev with the token" "$(cdev_bind "$VF2" "$T1")" OK
        check_eq "$VF2 bound by its cdev without a token" "$(cdev_bind "$VF2")" EACCES
fi
acquire bob "$VF1"
check_eq "bob: acquire is AccessDenied (exit 3)" "$TK_RC" 3
check_eq "... and prints no token" "$TOKEN" ""

# =============================================================================================
# 3. Forced rotation with a VF held open (and a lease held).
vf_hold "$VF1" "$T1"
check_eq "alice holds $VF1 open with the token (a running VM)" "$(head -n 1 "$HOLD_OUT")" OK
run_as_bg alice "$TOKENCTL" --no-ask-password acquire "$VF1" --hold >"$TK_TMP/lease.out" 2>&1
LEASE_PID=$TK_LAST_PID
wait_until grep -qE "$UUID_RE" "$TK_TMP/lease.out" || tk_die "acquire --hold gave no token"
seen "$(cat "$TK_TMP/lease.out")"
rc=0; tokenctl root rotate "$PF" >/dev/null 2>&1 || rc=$?
check_eq "rotate without --force while a lease is held: Busy (exit 5)" "$rc" 5
rc=0; gen=$(tokenctl root rotate "$PF" --force 2>/dev/null) || rc=$?
check_eq "rotate --force exits 0" "$rc" 0
check_eq "... and gives generation 2" "$gen" 2
check_eq "the held VF fd still works after the rotation" "$(held_fd_works)" OK
check_eq "a new open with the old token" "$(vf_open "$VF2" "$T1")" EACCES
acquire alice "$VF2"
T2=$TOKEN
check_eq "alice acquires again" "$TK_RC" 0
check "... a new token" test -n "$T2" -a "$T2" != "$T1"
check_eq "a new open with the new token" "$(vf_open "$VF2" "$T2")" OK
if [[ $API == cdev ]]; then
        check_eq "$VF2 bound by its cdev with the old token" "$(cdev_bind "$VF2" "$T1")" EACCES
        check_eq "$VF2 bound by its cdev with the new token" "$(cdev_bind "$VF2" "$T2")" OK
fi
tk_stop_pid "$LEASE_PID"

# =============================================================================================
# 4. Restarts without systemd, the VF held all along.
stop_daemon KILL
check_eq "kill -9 of the daemon: the held VF fd still works" "$(held_fd_works)" OK
check_eq "... and the kernel refuses to open the PF without the token" "$(vf_open --as root "$PF")" EACCES
start_tokend
check_eq "restarted: the PF is ready" "$(pf_prop State)" ready
check_eq "... reopened (no fd store here)" "$(opened_count)" 2
check_eq "... with the token on record (generation 2)" "$(pf_prop TokenGeneration)" 2
check_eq "... and the setup again left the VFs as they were" "$(cat "$(vm_dev "$PF")/sriov_numvfs")" 2
acquire alice "$VF2"
check_eq "alice gets the same token from the restarted daemon" "$TOKEN" "$T2"
check_eq "it opens a VF" "$(vf_open "$VF2" "$T2")" OK
check_eq "the held VF fd still works" "$(held_fd_works)" OK

# crash_rotation STEP OLD: the crash-point daemon dies at STEP ("pending": the new token is on
# disk, not in the kernel; "set": in the kernel, not committed) of a forced rotation of token
# OLD; the installed daemon restarted on the same state must come up ready and grant a token the
# kernel accepts, and the kernel must accept OLD exactly when that is still the token. Sets NEW.
crash_rotation() {
        local step=$1 old=$2 gen rc want
        stop_daemon TERM
        check_eq "crash at '$step': the daemon stopped cleanly first" "$TK_DAEMON_STATUS" 0
        start_daemon env VFIO_TOKEND_CRASH_AT="$step" VFIO_TOKEND_CRASH_ROTATION=1 \
                "$CRASHD" --config="$CONF" --state-dir="$STATE"
        gen=$(pf_prop TokenGeneration)
        check_eq "crash at '$step': the crash-point daemon serves the PF" "$(pf_prop State)" ready
        rc=0; tokenctl root rotate "$PF" --force >/dev/null 2>&1 || rc=$?
        check "crash at '$step': rotate --force gets no answer" test "$rc" != 0
        check "crash at '$step': the daemon is gone by itself" wait_until tk_gone "$TK_DAEMON_PID"
        stop_daemon KILL   # reaps it
        check_eq "crash at '$step': killed by SIGKILL" "$TK_DAEMON_STATUS" 137
        check_contains "crash at '$step': ... at the crash point" "$(tail -n 3 "$TK_DAEMON_LOG")" \
                "Crash point '$step' reached"
        if [[ $step == set ]]; then
                check_eq "crash at '$step': the kernel already refuses the old token" \
                        "$(vf_open "$VF2" "$old")" EACCES
        fi
        check_eq "crash at '$step': the held VF fd still works" "$(held_fd_works)" OK

        start_tokend
        check_eq "crash at '$step': restarted, the PF is ready" "$(pf_prop State)" ready
        # pending: the kernel still had the committed token, which opened, and the rotation is
        # rolled forward; set: only the pending token opens the PF (the kernel demands it).
        check_contains "crash at '$step': the daemon finished the rotation" "$(cat "$TK_DAEMON_LOG")" \
                "$([[ $step == set ]] && echo "Recovered the token of an interrupted rotation" ||
                        echo "Completed an interrupted rotation")"
        acquire alice "$VF2"
        NEW=$TOKEN
        check_eq "crash at '$step': alice gets a token" "$TK_RC" 0
        check_eq "crash at '$step': the kernel accepts it" "$(vf_open "$VF2" "$NEW")" OK
        want=EACCES
        [[ $NEW != "$old" ]] || want=OK
        if [[ $step == set ]]; then
                check "crash at '$step': it is the new one" test "$NEW" != "$old"
                check_eq "crash at '$step': the generation moved on" "$(pf_prop TokenGeneration)" $((gen + 1))
        fi
        check_eq "crash at '$step': the old token ($([[ $NEW == "$old" ]] && echo kept || echo replaced))" \
                "$(vf_open "$VF2" "$old")" "$want"
        check_eq "crash at '$step': the held VF fd still works" "$(held_fd_works)" OK
}

crash_rotation pending "$T2"
T3=$NEW
crash_rotation set "$T3"

# =============================================================================================
# The end: the VF released, no token in the daemon's log.
tk_stop_pid "$HOLD_STDIN"
rc=0; wait "$HOLD_PID" || rc=$?
check_eq "the VM's holder exits 0 when its stdin closes" "$rc" 0

# The admin takes the PF away from vfio-pci while the daemon holds it: the kernel asks the holder
# for the device back (the PCI request eventfd) and waits; the daemon must let go, or the unbind
# would hang for as long as the daemon runs.
rc=0; timeout 60 sh -c "echo $PF > /sys/bus/pci/drivers/vfio-pci/unbind" || rc=$?
check_eq "unbinding the PF from vfio-pci completes while the daemon runs" "$rc" 0
check_contains "the daemon released the PF when the kernel asked" "$(cat "$TK_DAEMON_LOG")" \
        "The kernel asks for the PF back"
check_eq "the PF is gone, the daemon still serves the bus" "$(pf_prop State)" gone
check "the daemon is still running" tk_alive "$TK_DAEMON_PID"

n=$(sort -u "$SEEN" | wc -l)
check "the test saw tokens to look for ($n)" test "$n" -ge 3
leaked=0
while read -r t; do
        if grep -qiF -e "$t" -e "${t//-/}" "$TK_DAEMON_LOG"; then
                leaked=$((leaked + 1))
        fi
done < <(sort -u "$SEEN")
check_eq "none of the tokens is in the daemon's log" "$leaked" 0
check_fails "nothing token-shaped is in it either" grep -qiE "$UUID_RE|[0-9a-f]{32}" "$TK_DAEMON_LOG"
