#!/bin/bash
# The daemon's process and its restart, on the kernel model with a real bus and polkitd: started
# as root it sets up and then runs as user vfio-tokend with no capabilities; started as a user
# without access to the VFIO nodes it refuses with one clear message; stopped and started again
# while a VM holds a VF open, it reopens the PF with the token on record and grants that token.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
harness_enter_namespace "$@"
harness_start

# ---------------------------------------------------------------------------
# The daemon on the kernel model, and what every test of it needs. This block is the same in
# test-api.sh, test-leases.sh and test-restart.sh: keep them in step (or move it to lib.sh).

TOKENCTL=$TK_BUILDDIR/client/vfio-tokenctl
KOPEN=$TK_BUILDDIR/tests/model/kmodel-open
TOKEND=$TK_BUILDDIR/tests/vfio-tokend-model
FX=$TK_TMP/fixture
CONF=$TK_TMP/tokend.conf
STATE=$TK_TMP/state
MONITOR_LOG=$TK_TMP/monitor.log
SEEN=$TK_TMP/tokens-seen
UUID_RE='[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
IFACE_PF=org.vfio.Tokend1.PhysicalFunction
# shellcheck disable=SC2034 # not every test uses it
IFACE_LEASE=org.vfio.Tokend1.Lease
declare -A VF_PID VF_STDIN

for f in "$TOKEND" "$TOKENCTL" "$KOPEN" "$TK_BUILDDIR/tests/common/mkfixture"; do
        [[ -x $f ]] || tk_die "$f is not built (make all)"
done

# wait_until CMD...: poll CMD until it succeeds, for at most TK_STARTUP_TIMEOUT seconds.
wait_until() {
        local i
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 50; i++)); do
                "$@" && return 0
                sleep 0.02
        done
        return 1
}

# make_fixture DIR: $TK_PF (VFs in IOMMU groups 11, 12) and $TK_OTHER_PF (21, 22), each with 2
# of 4 VFs enabled on vfio-pci, and /dev/vfio/vfio open to everyone as the kernel makes it. The
# model's state (<dev>/vfio/.kmodel) is the kernel's: every process that uses the model writes it.
make_fixture() {
        "$TK_BUILDDIR/tests/common/mkfixture" "$1" pf "$TK_PF" vfio-pci 4 2 10 \
                pf "$TK_OTHER_PF" vfio-pci 4 2 20 >/dev/null
        chmod 0666 "$1/dev/vfio/vfio"
        install -d -m 0777 "$1/dev/vfio/.kmodel"
}

# Starts the daemon as root on $FX with $CONF and $STATE: it sets up, then drops to vfio-tokend.
start_tokend() {
        start_daemon env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
                "$TOKEND" --config="$CONF" --state-dir="$STATE"
}

# Records every token-like string in $1, for the leak check at the end (a file, so that calls
# in $(...) subshells count too).
seen() {
        grep -oE "$UUID_RE" <<<"$1" >>"$SEEN" || true
}

# Every signal on the bus, for the whole test: no token may ever be in one. Returns once
# dbus-monitor is seen listening (it shows a marker signal sent after it started).
start_monitor() {
        dbus-monitor --system "type='signal'" >"$MONITOR_LOG" 2>&1 &
        tk_register_pid $!
        wait_until monitor_shows_marker || tk_die "dbus-monitor did not start listening"
}

monitor_shows_marker() {
        busctl --system emit /org/vfio/TestMarker org.vfio.TestMarker Marker >/dev/null 2>&1 || true
        grep -q 'member=Marker' "$MONITOR_LOG"
}

# The last check of every test: the tokens seen appear neither in the daemon's log of the whole
# run (all starts) nor in any signal, in text or bare hex form.
check_no_token_leaks() {
        local t hex leaked=0 n
        n=$(sort -u "$SEEN" 2>/dev/null | wc -l)
        check "the test saw tokens to look for" test "$n" -gt 0
        check "dbus-monitor captured the daemon's signals" grep -q 'path=/org/vfio/Tokend1' "$MONITOR_LOG"
        while read -r t; do
                hex=${t//-/}
                if grep -qiF -e "$t" -e "$hex" "$TK_DAEMON_LOG" "$MONITOR_LOG"; then
                        leaked=$((leaked + 1))
                fi
        done < <(sort -u "$SEEN" 2>/dev/null)
        check_eq "none of the $n tokens seen is in the daemon's log or in a signal" "$leaked" 0
}

# tokenctl USER ARGS...: vfio-tokenctl as USER ("root" for root), never asking for a password.
tokenctl() {
        local user=$1
        shift
        if [[ $user == root ]]; then
                "$TOKENCTL" --no-ask-password "$@"
        else
                run_as "$user" "$TOKENCTL" --no-ask-password "$@"
        fi
}

# call USER BUSCTL-CALL-ARGS...: a method call to the daemon as USER; prints "ok" or the D-Bus
# error name the reply carried (busctl prints only the message; sd-bus's debug log has the name).
call() {
        local user=$1 out rc=0
        local -a prefix=()
        shift
        [[ $user == root ]] || prefix=(run_as "$user")
        out=$("${prefix[@]}" env SYSTEMD_LOG_LEVEL=debug busctl --system --timeout="$TK_CALL_TIMEOUT" \
                call "$TK_BUS_NAME" "$@" 2>&1) || rc=$?
        seen "$out"
        if ((rc == 0)); then
                echo ok
        else
                sed -n 's/^Got message type=error .* error-name=\([^ ]*\) .*/\1/p' <<<"$out" | tail -n 1
        fi
}

# prop PATH INTERFACE NAME: busctl's text form of a property, e.g. 's "ready"', 'ao 0'.
prop() {
        bus_call get-property "$TK_BUS_NAME" "$1" "$2" "$3" 2>&1 || true
}

pf_path() {
        bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s "$1" |
                sed -n 's/^o "\(.*\)"$/\1/p'
}

# How many leases a PF lists.
lease_count() {
        prop "$1" "$IFACE_PF" Leases | awk '{ print $2 }'
}

leases_are() {
        [[ $(lease_count "$1") == "$2" ]]
}

generation() {
        prop "$1" "$IFACE_PF" TokenGeneration | awk '{ print $2 }'
}

# hold USER DEVICE OUT: `vfio-tokenctl acquire DEVICE --hold` as USER in the background
# (TK_LAST_PID), output in OUT; returns once it has printed the token.
hold() {
        run_as_bg "$1" "$TOKENCTL" --no-ask-password acquire "$2" --hold >"$3" 2>&1
        wait_until grep -qE "$UUID_RE" "$3" || tk_die "acquire --hold $2 as $1 gave no token: $(cat "$3")"
        seen "$(cat "$3")"
}

# The model's current token of a PF (what no kernel tells anyone).
model_token() {
        "$KOPEN" --peek "$FX/dev" "$1" || true
}

# vf_open DEVICE [TOKEN]: open DEVICE as a VMM does and close it; prints OK or the errno name.
vf_open() {
        "$KOPEN" "$FX/dev" "$@" || true
}

# vf_hold NAME DEVICE [TOKEN]: the same, kept open (a running VM) until vf_release NAME; then
# `vf_result NAME` is OK or the errno name. The holder's stdin is a fifo whose only writer is a
# helper process, so no process this test starts later (a daemon) keeps it open by inheritance.
# Not in $(...): it records pids.
vf_hold() {
        local name=$1 base=$TK_TMP/vf-$1
        shift
        mkfifo "$base.in"
        "$KOPEN" "$FX/dev" "$@" --hold <"$base.in" >"$base.out" 2>&1 &
        VF_PID[$name]=$!
        tk_register_pid "${VF_PID[$name]}"
        sleep infinity >"$base.in" &
        VF_STDIN[$name]=$!
        tk_register_pid "${VF_STDIN[$name]}"
        wait_until grep -qs . "$base.out" || tk_die "kmodel-open $* said nothing"
}

vf_result() {
        head -n 1 "$TK_TMP/vf-$1.out"
}

tk_gone() {
        ! tk_alive "$1"
}

# vf_release NAME: closes the held device; prints "HELD OK" if its fd still worked until then.
vf_release() {
        tk_stop_pid "${VF_STDIN[$1]}"
        wait_until tk_gone "${VF_PID[$1]}" || tk_die "kmodel-open $1 did not exit"
        tail -n 1 "$TK_TMP/vf-$1.out"
}

VF1=0000:01:00.1
VF2=0000:01:00.2

make_fixture "$FX"
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF

[PhysicalFunction]
Address=$TK_OTHER_PF
EOF

# status_field PID NAME: a field of /proc/PID/status, blanks squeezed.
status_field() {
        awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"
}

check_privileges() {
        local pid=$TK_DAEMON_PID uid gid
        uid=$(id -u vfio-tokend)
        gid=$(id -g vfio-tokend)
        check_eq "$1: the daemon runs as vfio-tokend" "$(status_field "$pid" Uid)" "$uid $uid $uid $uid"
        check_eq "$1: ... in its group" "$(status_field "$pid" Gid)" "$gid $gid $gid $gid"
        check_eq "$1: ... with no supplementary groups" "$(status_field "$pid" Groups)" ""
        check_eq "$1: CapEff is empty" "$(status_field "$pid" CapEff)" 0000000000000000
        check_eq "$1: CapPrm is empty" "$(status_field "$pid" CapPrm)" 0000000000000000
        check_eq "$1: CapInh is empty" "$(status_field "$pid" CapInh)" 0000000000000000
        check_eq "$1: CapAmb is empty" "$(status_field "$pid" CapAmb)" 0000000000000000
        check_eq "$1: CapBnd is empty" "$(status_field "$pid" CapBnd)" 0000000000000000
        check "$1: it holds locked memory (for the tokens)" \
                test "$(status_field "$pid" VmLck | awk '{ print $1 }')" -gt 0
}

# --- Started as a user who cannot use the VFIO nodes: one clear message, exit 1, no bus name.
FX_ROOT=$TK_TMP/fixture-root
"$TK_BUILDDIR/tests/common/mkfixture" "$FX_ROOT" pf "$TK_PF" vfio-pci 4 2 10 >/dev/null
install -d -o bob -m 0700 "$TK_TMP/state-bob"
rc=0
run_as bob env VFIO_TOKEND_SYSFS_ROOT="$FX_ROOT/sys" VFIO_TOKEND_DEV_ROOT="$FX_ROOT/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-bob" >"$TK_TMP/bob.log" 2>&1 || rc=$?
check_eq "as a user without access to the VFIO nodes: exit 1" "$rc" 1
check_eq "... with one line of output" "$(wc -l <"$TK_TMP/bob.log")" 1
check_contains "... naming the node" "$(cat "$TK_TMP/bob.log")" "$FX_ROOT/dev/vfio/vfio"
check_contains "... and what to do" "$(cat "$TK_TMP/bob.log")" "as root"
check_fails "... without taking the bus name" bus_name_has_owner "$TK_BUS_NAME"

# --- Started as root: setup, then user vfio-tokend without capabilities.
start_monitor
start_tokend
PF=$(pf_path "$TK_PF")
check_privileges "first start"
check_contains "the daemon says it dropped privileges" "$(cat "$TK_DAEMON_LOG")" \
        "Dropped privileges to user vfio-tokend"
check_eq "the state directory is the service user's, 0700" "$(stat -c '%U %a' "$STATE")" "vfio-tokend 700"
check_eq "setup handed the PF's group node to the service user" \
        "$(stat -c '%U %a' "$FX/dev/vfio/10")" "vfio-tokend 600"

rc=0
token=$(tokenctl alice acquire "$VF1" 2>/dev/null) || rc=$?
seen "$token"
check_eq "alice gets the token" "$rc" 0
gen=$(generation "$PF")
vf_hold vm1 "$VF1" "$token"
check_eq "a VM opens a VF with it and keeps it open" "$(vf_result vm1)" OK

# --- Restart while the VF is in use: the kernel lets the PF be opened only with its token.
stop_daemon TERM
check_eq "SIGTERM stops the daemon cleanly" "$TK_DAEMON_STATUS" 0
check "the VF is still open" tk_alive "${VF_PID[vm1]}"
start_tokend
check_privileges "after the restart"
check_eq "the PF is ready again" "$(prop "$PF" "$IFACE_PF" State)" 's "ready"'
check_eq "it reopened the PF (no fd store here)" \
        "$(grep -c "PF $TK_PF: Ready (group API, opened" "$TK_DAEMON_LOG")" 2
check_eq "the token generation is the same" "$(generation "$PF")" "$gen"
check_eq "the kernel still has the same token" "$(model_token "$TK_PF")" "$token"
out=$(tokenctl alice acquire "$VF2" 2>/dev/null) || true
seen "$out"
check_eq "alice gets the same token from the restarted daemon" "$out" "$token"
check_eq "it opens another VF" "$(vf_open "$VF2" "$token")" OK
check_eq "the VF held across the restart still works" "$(vf_release vm1)" "HELD OK"

check_no_token_leaks
