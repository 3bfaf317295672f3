#!/bin/bash
# The daemon's process and its restart, on the kernel model with a real bus and polkitd: started
# as root it sets up and then runs as user vfio-tokend with no capabilities; started as a user
# without access to the VFIO nodes (/dev/vfio/vfio, or the group node of every configured PF) it
# refuses with one clear message and never takes the bus name; stopped and started again while a
# VM holds a VF open, it reopens the PF with the token on record and grants that token.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

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

# Whether the bus ever announced an owner of the daemon's name (NameOwnerChanged, to dbus-monitor)
# until now: it first waits for a marker signal sent now, so that earlier signals are all in.
name_was_taken() {
        local n
        n=$(markers_seen)
        busctl --system emit /org/vfio/TestMarker org.vfio.TestMarker Marker >/dev/null 2>&1 ||
                tk_die "could not send a marker signal"
        wait_until markers_seen_more_than "$n" || tk_die "dbus-monitor did not show the marker"
        grep -qxF "   string \"$TK_BUS_NAME\"" "$MONITOR_LOG"
}

markers_seen() {
        grep -c 'member=Marker' "$MONITOR_LOG" || true
}

markers_seen_more_than() {
        (($(markers_seen) > $1))
}

# Every signal from here on, the refused starts included.
start_monitor

# --- Started as a user who cannot use the VFIO nodes: one clear message, exit 1, no bus name.
FX_ROOT=$TK_TMP/fixture-root
"$MKFIXTURE" "$FX_ROOT" pf "$TK_PF" vfio-pci 4 2 10 >/dev/null
install -d -o bob -m 0700 "$TK_TMP/state-bob"
# A daemon that wrongly went on would run for good: timeout ends it (status 124, a failure).
rc=0
run_as bob timeout "$TK_CALL_TIMEOUT" \
        env VFIO_TOKEND_SYSFS_ROOT="$FX_ROOT/sys" VFIO_TOKEND_DEV_ROOT="$FX_ROOT/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-bob" >"$TK_TMP/bob.log" 2>&1 || rc=$?
check_eq "as a user without access to the VFIO nodes: exit 1" "$rc" 1
check_eq "... with one line of output" "$(wc -l <"$TK_TMP/bob.log")" 1
check_contains "... naming the node" "$(cat "$TK_TMP/bob.log")" "$FX_ROOT/dev/vfio/vfio"
check_contains "... and what to do" "$(cat "$TK_TMP/bob.log")" "as root"
check_fails "... without taking the bus name" bus_name_has_owner "$TK_BUS_NAME"

# --- Started as the service user with /dev/vfio/vfio usable but, as before any --setup, the
# group nodes of the configured PFs root's and 0600: it refuses too, naming the first node.
FX_SVC=$TK_TMP/fixture-svc
make_fixture "$FX_SVC"
chown root:root "$FX_SVC/dev/vfio/10" "$FX_SVC/dev/vfio/20"
chmod 0600 "$FX_SVC/dev/vfio/10" "$FX_SVC/dev/vfio/20"
install -d -o vfio-tokend -g vfio-tokend -m 0700 "$TK_TMP/state-svc"
check "the service user can use that fixture's /dev/vfio/vfio" \
        run_as vfio-tokend test -r "$FX_SVC/dev/vfio/vfio" -a -w "$FX_SVC/dev/vfio/vfio"
rc=0
run_as vfio-tokend timeout "$TK_CALL_TIMEOUT" \
        env VFIO_TOKEND_SYSFS_ROOT="$FX_SVC/sys" VFIO_TOKEND_DEV_ROOT="$FX_SVC/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-svc" \
        >"$TK_TMP/svc.out" 2>"$TK_TMP/svc.err" || rc=$?
check_eq "as vfio-tokend without the PFs' group nodes: exit 1" "$rc" 1
check_eq "... nothing on stdout" "$(cat "$TK_TMP/svc.out")" ""
check_eq "... exactly one line on stderr" "$(wc -l <"$TK_TMP/svc.err")" 1
check_contains "... naming the PF's group node" "$(cat "$TK_TMP/svc.err")" "$FX_SVC/dev/vfio/10:"
check_contains "... and what to do" "$(cat "$TK_TMP/svc.err")" "as root"
check_fails "... without taking the bus name" bus_name_has_owner "$TK_BUS_NAME"
check_fails "neither refused start ever took the bus name" name_was_taken

# --- Started as root: setup, then user vfio-tokend without capabilities.
start_tokend
check "the bus telling of the name's owner is seen (so the check above could fail)" name_was_taken
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

# --- The process is not dumpable: /proc/PID/mem and friends belong to root, not to its uid.
check_eq "the daemon is not dumpable" "$(stat -c %U "/proc/$TK_DAEMON_PID/mem")" root

# --- --setup hands state files a root run left behind to the service user.
echo "left by root" >"$STATE/root-owned.state"
chown root:root "$STATE/root-owned.state"
ln -s /etc/hostname "$STATE/a-link"
env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
        "$TOKEND" --setup --config="$CONF" --state-dir="$STATE" >"$TK_TMP/setup.log" 2>&1
check_eq "--setup hands a root-owned state file to vfio-tokend" "$(stat -c %U "$STATE/root-owned.state")" vfio-tokend
check_eq "... but never follows a symlink" "$(stat -c %U /etc/hostname)" root
check_eq "... nor changes the link" "$(stat -c %U "$STATE/a-link")" root
rm -f "$STATE/root-owned.state" "$STATE/a-link"

# --- A state directory that is a symlink is refused, and what it points to left alone.
install -d -o root -m 0755 "$TK_TMP/elsewhere"
ln -s "$TK_TMP/elsewhere" "$TK_TMP/state-link"
rc=0
timeout "$TK_CALL_TIMEOUT" env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-link" >"$TK_TMP/link.log" 2>&1 || rc=$?
check_eq "a state directory that is a symlink: exit 1" "$rc" 1
check_contains "... saying so" "$(cat "$TK_TMP/link.log")" "a symlink or not a directory"
check_eq "... and its target keeps its owner" "$(stat -c '%U %a' "$TK_TMP/elsewhere")" "root 755"

# --- Without the service user, started as root it refuses to run as uid 0, saying how to fix it.
# (The harness's /etc/passwd is a bind mount: rewrite it in place.)
cp "$TK_TMP/etc/passwd" "$TK_TMP/passwd.saved"
grep -v '^vfio-tokend:' "$TK_TMP/passwd.saved" >"$TK_TMP/passwd.nosvc"
cat "$TK_TMP/passwd.nosvc" >/etc/passwd
rc=0
timeout "$TK_CALL_TIMEOUT" env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-nosvc" >"$TK_TMP/nosvc.log" 2>&1 || rc=$?
cat "$TK_TMP/passwd.saved" >/etc/passwd
check_eq "without the service user, as root: exit 1" "$rc" 1
check_contains "... refusing uid 0" "$(cat "$TK_TMP/nosvc.log")" "refusing to run the daemon as uid 0"
check_contains "... and saying how to create the user" "$(cat "$TK_TMP/nosvc.log")" "systemd-sysusers"
check "the running daemon is untouched by all that" tk_alive "$TK_DAEMON_PID"

check_no_token_leaks
