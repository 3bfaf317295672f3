#!/bin/bash
# Leases and rotation, with the daemon on the kernel model, a real bus and polkitd: a lease ends
# when its client leaves the bus (even killed), only its owner or root may release it, rotation
# is refused while leases are held unless forced, a forced rotation keeps open VFs working but
# the old token opens no more, TokenRotated tells of it without the token, and RotateWhenIdle
# rotates when a PF's last lease ends.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

VF1=0000:01:00.1
VF2=0000:01:00.2
OTHER_VF1=0000:02:00.1
OTHER_VF2=0000:02:00.2

make_fixture "$FX"
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF

[PhysicalFunction]
Address=$TK_OTHER_PF
RotateWhenIdle=yes
EOF
start_monitor
start_tokend

PF=$(pf_path "$TK_PF")
OTHER=$(pf_path "$TK_OTHER_PF")

first_lease() {
        prop "$1" "$IFACE_PF" Leases | awk '{ print $3 }' | tr -d '"'
}

# --- A lease lives as long as its client's connection: kill -9 ends it.
gen=$(generation "$PF")
hold alice "$VF1" "$TK_TMP/hold-alice.out"
holder=$TK_LAST_PID
check_eq "a held lease is listed" "$(lease_count "$PF")" 1
lease=$(first_lease "$PF")
check_eq "the lease's Owner is the client's connection" \
        "$(prop "$lease" "$IFACE_LEASE" Owner)" "s \"$(bus_name_of_pid "$holder")\""
check_eq "the lease's UID is alice's" "$(prop "$lease" "$IFACE_LEASE" UID)" "u $(id -u alice)"
check_eq "the lease's PID is the client's" "$(prop "$lease" "$IFACE_LEASE" PID)" "u $holder"
check_eq "the lease's Device" "$(prop "$lease" "$IFACE_LEASE" Device)" "s \"$VF1\""
check_eq "the lease's PhysicalFunction" "$(prop "$lease" "$IFACE_LEASE" PhysicalFunction)" "o \"$PF\""
check_contains "vfio-tokenctl leases lists it" "$(tokenctl bob leases)" "$lease"
kill -KILL "$holder"
wait "$holder" 2>/dev/null || true
check "kill -9 of the client ends its lease" wait_until leases_are "$PF" 0
check_contains "the lease object is gone" "$(prop "$lease" "$IFACE_LEASE" Owner)" "nknown object"
check_contains "the daemon logs why the lease ended" "$(cat "$TK_DAEMON_LOG")" "ended (owner left the bus)"
check_eq "no rotation without RotateWhenIdle" "$(generation "$PF")" "$gen"

# --- Release(): the owner or root, nobody else.
rc=0
out=$(tokenctl alice --json acquire "$VF1" 2>/dev/null) || rc=$?
seen "$out"
check_eq "alice acquires (and releases on exit)" "$rc" 0
lease=$(sed -n 's/.*"lease":"\([^"]*\)".*/\1/p' <<<"$out")
check_contains "the owner's Release() ended the lease" "$(cat "$TK_DAEMON_LOG")" \
        "Lease ${lease##*/} ended (released): uid=$(id -u alice)"

hold alice "$VF1" "$TK_TMP/hold-alice2.out"
holder=$TK_LAST_PID
lease=$(first_lease "$PF")
check_eq "bob may not release alice's lease" "$(call bob "$lease" "$IFACE_LEASE" Release)" \
        org.freedesktop.DBus.Error.AccessDenied
rc=0
tokenctl bob release "$lease" >/dev/null 2>&1 || rc=$?
check_eq "vfio-tokenctl release of another's lease exits 3" "$rc" 3
check_eq "alice from another connection may not release it either" \
        "$(call alice "$lease" "$IFACE_LEASE" Release)" org.freedesktop.DBus.Error.AccessDenied
check_eq "the lease is still there" "$(lease_count "$PF")" 1
check_eq "root may release it" "$(call root "$lease" "$IFACE_LEASE" Release)" ok
check_eq "it is gone" "$(lease_count "$PF")" 0
check "the holder sees its lease end and exits" wait_until tk_gone "$holder"
rc=0
wait "$holder" || rc=$?
check_eq "... with status 1" "$rc" 1
check_contains "... saying so" "$(cat "$TK_TMP/hold-alice2.out")" "has ended"
check_eq "releasing a lease that is gone: UnknownObject" "$(call root "$lease" "$IFACE_LEASE" Release)" \
        org.freedesktop.DBus.Error.UnknownObject

# --- Rotation with leases held: Busy, unless forced.
hold alice "$VF1" "$TK_TMP/hold-alice3.out"
holder=$TK_LAST_PID
old=$(grep -oE "$UUID_RE" "$TK_TMP/hold-alice3.out")
gen=$(generation "$PF")
vf_hold vm1 "$VF1" "$old"
check_eq "a VM opens the VF with the token" "$(vf_result vm1)" OK
rc=0
tokenctl alice rotate "$TK_PF" >/dev/null 2>&1 || rc=$?
check_eq "Rotate(false) with a lease held: vfio-tokenctl exits 5" "$rc" 5
check_eq "Rotate(false) with a lease held: Busy" "$(call alice "$PF" "$IFACE_PF" Rotate b false)" \
        org.vfio.Tokend1.Error.Busy
check_eq "... the generation is unchanged" "$(generation "$PF")" "$gen"
check_eq "... and so is the kernel's token" "$(model_token "$TK_PF")" "$old"
check_eq "bob may not rotate" "$(call bob "$PF" "$IFACE_PF" Rotate b true)" org.freedesktop.DBus.Error.AccessDenied
check_eq "... and nothing changed" "$(generation "$PF")" "$gen"

rc=0
out=$(tokenctl alice rotate "$TK_PF" --force 2>&1) || rc=$?
check_eq "Rotate(true) with a lease held works" "$rc" 0
check_eq "... and prints the new generation" "$out" "$((gen + 1))"
check_eq "TokenGeneration is the new one" "$(generation "$PF")" "$((gen + 1))"
new=$(model_token "$TK_PF")
seen "$new"
check "the kernel has a new token" test "$new" != "$old"
check_eq "a forced rotation leaves the lease in place" "$(lease_count "$PF")" 1
check_eq "the old token no longer opens a VF" "$(vf_open "$VF2" "$old")" EACCES
check_eq "the VF opened before the rotation still works" "$(vf_release vm1)" "HELD OK"
out=$(tokenctl alice acquire "$VF2" 2>/dev/null) || true
seen "$out"
check_eq "AcquireToken now gives the new token" "$out" "$new"
check_eq "the new token opens the VF" "$(vf_open "$VF2" "$new")" OK

# The TokenRotated signals dbus-monitor saw, one line each: their arguments as it shows them.
rotated() {
        awk 'function flush() { if (sig != "") print sig; sig = "" }
             /^[^ ]/ { flush() }
             /member=TokenRotated$/ { sig = "TokenRotated"; next }
             sig != "" { sub(/^ +/, ""); sig = sig " " $0 }
             END { flush() }' "$MONITOR_LOG"
}

# rotated_to PF GENERATION: whether TokenRotated was seen for it.
rotated_to() {
        rotated | grep -qxF "TokenRotated string \"$1\" object path \"$(pf_path "$1")\" uint64 $2"
}

check "TokenRotated (pf, path, generation) was seen" wait_until rotated_to "$TK_PF" "$((gen + 1))"
check_fails "TokenRotated carries no token" grep -qE "$UUID_RE" <(rotated)
check_eq "root may rotate, forced" "$(call root "$PF" "$IFACE_PF" Rotate b true)" ok
check_eq "... one generation more" "$(generation "$PF")" "$((gen + 2))"
seen "$(model_token "$TK_PF")"
tk_stop_pid "$holder"
check "the lease ends with its client" wait_until leases_are "$PF" 0
check_eq "with no lease, Rotate(false) works" "$(call alice "$PF" "$IFACE_PF" Rotate b false)" ok
check_eq "... one generation more" "$(generation "$PF")" "$((gen + 3))"
seen "$(model_token "$TK_PF")"

# --- RotateWhenIdle: the PF rotates when its last lease ends, not before.
gen=$(generation "$OTHER")
hold carol "$OTHER_VF1" "$TK_TMP/hold-carol.out"
first=$TK_LAST_PID
hold carol "$OTHER_VF2" "$TK_TMP/hold-carol2.out"
second=$TK_LAST_PID
check_eq "two leases on the idle-rotating PF" "$(lease_count "$OTHER")" 2
token=$(model_token "$TK_OTHER_PF")
tk_stop_pid "$first"
check "one lease ends" wait_until leases_are "$OTHER" 1
check_eq "... no rotation while another is held" "$(generation "$OTHER")" "$gen"
check_eq "... the kernel's token is unchanged" "$(model_token "$TK_OTHER_PF")" "$token"
tk_stop_pid "$second"
check "the last lease ends" wait_until leases_are "$OTHER" 0
check_eq "... and the PF rotated" "$(generation "$OTHER")" "$((gen + 1))"
new=$(model_token "$TK_OTHER_PF")
seen "$new"
check "... to a new token" test "$new" != "$token"
check_eq "... the old one opens no VF" "$(vf_open "$OTHER_VF1" "$token")" EACCES
check "... TokenRotated tells of it" wait_until rotated_to "$TK_OTHER_PF" "$((gen + 1))"

check_no_token_leaks
