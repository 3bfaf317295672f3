#!/bin/bash
# Guest job, on a kernel with IOMMUFD and the VFIO cdev (tests/vm/build-kernel-7.3.sh): the
# daemon's own kernel boundary, daemon/vfio.c, with Api=cdev on the real vfio-pci, through
# vfio-pf ($VFIO_PF) as the daemon uses it, and VMs' opens by vfio-pf (a raw cdev opener with
# VFIO_DEVICE_BIND_FLAG_TOKEN) and vf-open ($VF_OPEN, the group API):
#  1. the PF bound through its cdev and its token SET: VFs bind by cdev only with it, open by
#     the group API with it; nobody else opens the PF, by either API;
#  2. the PF let go while a VF is held: it binds again only with the current token;
#  3. its fds carried across an execve() and adopted (the fd store's way): no rebind, PROBE and
#     SET work, the held VF keeps working;
#  4. kill -9 of the PF's holder with a VF held: the token it set is the only way back in;
#  5. the kernel asks for the PF back (unbind from vfio-pci): the request eventfd fires and the
#     holder lets go, so the unbind completes.
# Run by check-vm.sh as `run-vm.sh --vfs 2 --env VF_OPEN=... --env VFIO_PF=... KERNEL --
# job-vfio-cdev.sh`. Prints "PASS: what" / "FAIL: what" lines; exits non-zero if any failed.
set -u
# shellcheck source=tests/vm/guest-lib.sh
. "$VM_LIB"

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
# check WHAT WANT CMD...: the last line CMD prints is WANT.
check() {
        local what=$1 want=$2 got
        shift 2
        got=$("$@" 2>/dev/null </dev/null | tail -n1)
        if [ "$got" = "$want" ]; then pass "$what: $got"; else fail "$what: got '${got:-nothing}', want $want"; fi
}
check_eq() {
        if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}

: "${VF_OPEN:?}" "${VFIO_PF:?}"
pf=$VM_PF
read -r vf1 vf2 _ <<<"$VM_VFS"
x=$(cat /proc/sys/kernel/random/uuid)
y=$(cat /proc/sys/kernel/random/uuid)
z=$(cat /proc/sys/kernel/random/uuid)

# A holder in the background, its stdin a fifo the job keeps open: start_holder NAME CMD...;
# its output goes to $tmp/NAME.out, its pid to HOLDER_PID, the fifo's writing end to HOLDER_IN.
# A holder must not inherit the writing ends of the others' fifos, or they never see EOF.
tmp=$(mktemp -d)
holder_fds=()
start_holder() {
        local name=$1 fd
        shift
        rm -f "$tmp/$name.in" "$tmp/$name.out" "$tmp/$name.err"
        mkfifo "$tmp/$name.in"
        (
                for fd in "${holder_fds[@]}"; do
                        eval "exec $fd>&-"
                done
                exec "$@"
        ) <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
        HOLDER_PID=$!
        exec {HOLDER_IN}>"$tmp/$name.in"
        holder_fds+=("$HOLDER_IN")
}
# wait_lines NAME N: until the holder printed N lines (10 s at most).
wait_lines() {
        local i
        for ((i = 0; i < 200; i++)); do
                [ "$(wc -l <"$tmp/$1.out")" -ge "$2" ] && return 0
                sleep 0.05
        done
        return 1
}
line() { sed -n "$2p" "$tmp/$1.out"; }

[ -c /dev/iommu ] && pass "the kernel has /dev/iommu" || fail "no /dev/iommu (CONFIG_IOMMUFD)"
cdev=$(ls -d "$(vm_dev "$pf")"/vfio-dev/vfio* 2>/dev/null | head -n1)
[ -n "$cdev" ] && [ -c "/dev/vfio/devices/${cdev##*/}" ] && pass "the PF has a cdev: /dev/vfio/devices/${cdev##*/}" ||
        fail "the PF has no cdev (CONFIG_VFIO_DEVICE_CDEV)"

# --- 1. The PF through its cdev, token X ----------------------------------------------------
start_holder pf "$VFIO_PF" --api=cdev --probe --set "$x" --hold "$pf"
pf_pid=$HOLDER_PID pf_in=$HOLDER_IN
wait_lines pf 4
check_eq "PF bound through its cdev (vfio_pf_open, no token, no VF open)" "$(line pf 1)" OK
check_eq "... VF token PROBE" "$(line pf 2)" OK
check_eq "... VF token SET to X" "$(line pf 3)" OK
check_eq "... request eventfd registered" "$(line pf 4)" OK
check "a second opener of the PF's cdev" EBUSY "$VFIO_PF" --api=cdev "$pf"
check "the PF through its group meanwhile" EBUSY "$VF_OPEN" "$pf"
check "VF bound by cdev without a token" EACCES "$VFIO_PF" --api=cdev "$vf1"
check "VF bound by cdev with a wrong token" EACCES "$VFIO_PF" --api=cdev --token "$y" "$vf1"
check "VF bound by cdev with X" OK "$VFIO_PF" --api=cdev --token "$x" "$vf1"
check "VF opened through its group with X" OK "$VF_OPEN" --token "$x" "$vf1"
check "VF opened through its group without a token" EACCES "$VF_OPEN" "$vf1"
check "a VF bound by cdev has no token feature" ENOTTY "$VFIO_PF" --api=cdev --token "$x" --probe "$vf1"

# --- 2. A VF held (a running VM); the PF let go and bound again ------------------------------
start_holder vf "$VF_OPEN" --hold --token "$x" "$vf2"
vf_pid=$HOLDER_PID vf_in=$HOLDER_IN
wait_lines vf 1
check_eq "a VM holds $vf2 with X" "$(line vf 1)" OK
exec {pf_in}>&-
wait "$pf_pid"
check_eq "the PF's holder let go (stdin EOF)" "$(line pf 5)" EOF
check "PF bound again without a token, a VF held" EACCES "$VFIO_PF" --api=cdev "$pf"
check "PF bound again with a stale token, a VF held" EACCES "$VFIO_PF" --api=cdev --token "$y" "$pf"

# --- 3. Bound with the current token, its fds adopted across an execve(), SET Y ---------------
start_holder pf "$VFIO_PF" --api=cdev --token "$x" --readopt --probe --set "$y" --hold "$pf"
pf_pid=$HOLDER_PID pf_in=$HOLDER_IN
wait_lines pf 5
check_eq "PF bound again with X, a VF held" "$(line pf 1)" OK
check_eq "... its fds adopted after an execve() (vfio_pf_adopt, no rebind)" "$(line pf 2)" OK
check_eq "... PROBE through the adopted fds" "$(line pf 3)" OK
check_eq "... SET Y through them while a VF is held" "$(line pf 4)" OK
check_eq "... request eventfd registered" "$(line pf 5)" OK
kill -USR1 "$vf_pid"
wait_lines vf 2
check_eq "the held VF fd still works" "$(line vf 2)" OK
check "VF bound by cdev with X after SET Y" EACCES "$VFIO_PF" --api=cdev --token "$x" "$vf1"
check "VF bound by cdev with Y" OK "$VFIO_PF" --api=cdev --token "$y" "$vf1"

# --- 4. kill -9 of the PF's holder, a VF held -----------------------------------------------
kill -KILL "$pf_pid"
wait "$pf_pid" 2>/dev/null
exec {pf_in}>&-
check "after kill -9: PF bound without a token" EACCES "$VFIO_PF" --api=cdev "$pf"
check "after kill -9: PF bound with the token it had set (Y), SET Z" OK \
        "$VFIO_PF" --api=cdev --token "$y" --set "$z" "$pf"
check "VF bound by cdev with Z" OK "$VFIO_PF" --api=cdev --token "$z" "$vf1"
kill -USR1 "$vf_pid"
wait_lines vf 3
check_eq "the held VF fd still works" "$(line vf 3)" OK

# --- 5. The kernel asks for the PF back -----------------------------------------------------
exec {vf_in}>&-
wait "$vf_pid"
check_eq "the VM let go of its VF" "$?" 0
start_holder pf "$VFIO_PF" --api=cdev --hold "$pf"
pf_pid=$HOLDER_PID pf_in=$HOLDER_IN
wait_lines pf 2
check_eq "PF bound (no VF open, no token)" "$(line pf 1)" OK
rc=0; timeout 60 sh -c "echo $pf > /sys/bus/pci/drivers/vfio-pci/unbind" || rc=$?
check_eq "unbinding the PF from vfio-pci completes while it is bound" "$rc" 0
wait_lines pf 3
check_eq "the holder heard the request and let go" "$(line pf 3)" REQUEST
exec {pf_in}>&-
wait "$pf_pid" 2>/dev/null

rm -rf "$tmp"
exit $((failed != 0))
