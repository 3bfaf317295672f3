#!/bin/bash
# Api=cdev on the kernel model, with a real bus and polkitd: started as the service user before
# any --setup (the PF's cdev node and /dev/iommu not its own) the daemon refuses with one line
# naming the node; started as root, --setup hands the service user the PF's cdev node (0600) and
# /dev/iommu through an ACL entry, and the unprivileged daemon holds the PF through its iommufd
# cdev: the Api property says "cdev", a granted token opens VFs (through the group API, as QEMU
# does), a forced rotation with a VF held works, and a restart with the VF held binds the PF again
# with the token on record. A PF configured Api=auto next to it stays on the group API.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

VF1=0000:01:00.1
VF2=0000:01:00.2

make_fixture "$FX"
cat >"$CONF" <<CONF
[PhysicalFunction]
Address=$TK_PF
Api=cdev

[PhysicalFunction]
Address=$TK_OTHER_PF
CONF
cdev=$(ls "$FX/sys/bus/pci/devices/$TK_PF/vfio-dev")
check "the model gives the PF a cdev ($cdev)" test -f "$FX/dev/vfio/devices/$cdev"
# As the kernel makes them: the container open to all, the rest root's.
chmod 0600 "$FX/dev/vfio/devices/$cdev" "$FX/dev/vfio/20" "$FX/dev/iommu"

start_monitor

# --- As the service user before any --setup: refused, naming the first node it cannot use.
install -d -o vfio-tokend -g vfio-tokend -m 0700 "$TK_TMP/state-svc"
rc=0
run_as vfio-tokend timeout "$TK_CALL_TIMEOUT" \
        env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$TK_TMP/state-svc" \
        >"$TK_TMP/svc.out" 2>"$TK_TMP/svc.err" || rc=$?
check_eq "as vfio-tokend before --setup: exit 1" "$rc" 1
check_eq "... exactly one line on stderr" "$(wc -l <"$TK_TMP/svc.err")" 1
check_contains "... naming /dev/iommu (the cdev API's first node)" "$(cat "$TK_TMP/svc.err")" "$FX/dev/iommu:"
check_fails "... without taking the bus name" bus_name_has_owner "$TK_BUS_NAME"

# --- As root: setup, then the unprivileged daemon on the PF's cdev.
start_tokend
PF=$(pf_path "$TK_PF")
OTHER=$(pf_path "$TK_OTHER_PF")
check_eq "the PF is ready" "$(prop "$PF" "$IFACE_PF" State)" 's "ready"'
check_eq "its Api property: cdev" "$(prop "$PF" "$IFACE_PF" Api)" 's "cdev"'
check_eq "the Api=auto PF next to it: group (the kernel has /dev/vfio/vfio)" \
        "$(prop "$OTHER" "$IFACE_PF" Api)" 's "group"'
check_eq "setup handed the PF's cdev node to the service user, 0600" \
        "$(stat -c '%U %a' "$FX/dev/vfio/devices/$cdev")" "vfio-tokend 600"
check "... and /dev/iommu through its ACL" \
        run_as vfio-tokend test -r "$FX/dev/iommu" -a -w "$FX/dev/iommu"
check_eq "... without making it the service user's" "$(stat -c %U "$FX/dev/iommu")" root
check "... nor opening it to anyone else (alice)" run_as alice test ! -w "$FX/dev/iommu"
check_eq "the cdev PF's group node stays root's" "$(stat -c %U "$FX/dev/vfio/10")" root
check_contains "the daemon says how it holds the PF" "$(cat "$TK_DAEMON_LOG")" \
        "PF $TK_PF: Ready (cdev API, opened, $cdev,"

rc=0
token=$(tokenctl alice acquire "$VF1" 2>/dev/null) || rc=$?
seen "$token"
check_eq "alice gets the token" "$rc" 0
check_eq "... the kernel's" "$(model_token "$TK_PF")" "$token"
vf_hold vm1 "$VF1" "$token"
check_eq "a VM opens a VF with it and keeps it open" "$(vf_result vm1)" OK
check_eq "no token: refused" "$(vf_open "$VF2")" EACCES

# --- A forced rotation with the VF held.
gen=$(generation "$PF")
check_eq "a forced rotation as root" "$(call root "$PF" "$IFACE_PF" Rotate b true)" ok
check_eq "... one generation on" "$(generation "$PF")" $((gen + 1))
new=$(tokenctl alice acquire "$VF2" 2>/dev/null) || true
seen "$new"
check "... a new token" test -n "$new" -a "$new" != "$token"
check_eq "... the kernel's" "$(model_token "$TK_PF")" "$new"
check_eq "the old token opens no VF now" "$(vf_open "$VF2" "$token")" EACCES
check_eq "the new one does" "$(vf_open "$VF2" "$new")" OK

# --- A restart with the VF held: the PF bound again with the token on record.
stop_daemon TERM
check_eq "SIGTERM stops the daemon cleanly" "$TK_DAEMON_STATUS" 0
start_tokend
check_eq "the PF is ready again" "$(prop "$PF" "$IFACE_PF" State)" 's "ready"'
check_eq "... through its cdev" "$(prop "$PF" "$IFACE_PF" Api)" 's "cdev"'
check_eq "it reopened the PF (no fd store here)" \
        "$(grep -c "PF $TK_PF: Ready (cdev API, opened" "$TK_DAEMON_LOG")" 2
check_eq "the generation is kept" "$(generation "$PF")" $((gen + 1))
check_eq "the kernel keeps the token" "$(model_token "$TK_PF")" "$new"
out=$(tokenctl alice acquire "$VF2" 2>/dev/null) || true
seen "$out"
check_eq "alice gets the same token from the restarted daemon" "$out" "$new"
check_eq "the VF held across the rotation and the restart still works" "$(vf_release vm1)" "HELD OK"

check_no_token_leaks
