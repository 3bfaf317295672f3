#!/bin/bash
# Guest job: the VF token basics on the real vfio-pci, with vf-open ($VF_OPEN), from a PF that
# starts on nvme. Proves the VM harness end to end. Prints "PASS: what" / "FAIL: what" lines
# (check-vm.sh counts them); exits non-zero if any check failed.
set -u
# shellcheck source=tests/vm/guest-lib.sh
. "$VM_LIB"

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {   # check WHAT WANT CMD...: CMD prints a result word
        local what=$1 want=$2 got
        shift 2
        got=$("$@" 2>/dev/null | tail -n1)
        if [ "$got" = "$want" ]; then pass "$what: $got"; else fail "$what: got '${got:-nothing}', want $want"; fi
}

pf=$VM_PF
vf=${VM_VFS%% *}
x=$(cat /proc/sys/kernel/random/uuid)
y=$(cat /proc/sys/kernel/random/uuid)

[ "$(vm_driver "$pf")" = nvme ] && pass "PF starts on nvme" || fail "PF starts on '$(vm_driver "$pf")', not nvme"
vm_bind "$pf" vfio-pci && pass "PF binds to vfio-pci" || fail "PF binds to vfio-pci"
if echo 2 > "/sys/bus/pci/devices/$pf/sriov_numvfs"; then pass "2 VFs enabled"; else fail "2 VFs enabled"; fi
for v in $VM_VFS; do
        [ "$(vm_driver "$v")" = vfio-pci ] && pass "VF $v auto-bound to vfio-pci" ||
                fail "VF $v on '$(vm_driver "$v")', not vfio-pci"
done
[ "$(vm_group "$vf")" != "$(vm_group "$pf")" ] && pass "VF in its own IOMMU group" || fail "VF shares the PF's IOMMU group"

check "VF open without a token" EACCES "$VF_OPEN" "$vf"
check "VF open with a made-up token" EACCES "$VF_OPEN" --token "$x" "$vf"
check "PF open with vf_token=X (sets X)" OK "$VF_OPEN" "$pf vf_token=$x"
check "VF open with X" OK "$VF_OPEN" "$vf vf_token=$x"
check "VF open with Y" EACCES "$VF_OPEN" --token "$y" "$vf"
check "VF open, malformed vf_token" EINVAL "$VF_OPEN" "$vf vf_token=nope"
check "PF FEATURE PROBE|SET|PCI_VF_TOKEN" OK "$VF_OPEN" --probe "$pf"
check "VF FEATURE PROBE|SET|PCI_VF_TOKEN" ENOTTY "$VF_OPEN" --probe --token "$x" "$vf"

# Hold the PF open (as the daemon does) and set Y through it; X stops working, Y works.
coproc HOLD { "$VF_OPEN" --hold --set "$y" "$pf" 2>&1; }
holder=$HOLD_PID
read -r -t 60 held <&"${HOLD[0]}"
[ "$held" = OK ] && pass "PF held open, token set to Y: OK" || fail "PF held open, token set to Y: got '$held'"
check "VF open with X after SET Y" EACCES "$VF_OPEN" --token "$x" "$vf"
check "VF open with Y while the PF is held" OK "$VF_OPEN" --token "$y" "$vf"
eval "exec ${HOLD[1]}>&-"
wait "$holder" && pass "holder exits on stdin EOF" || fail "holder exits on stdin EOF"
check "VF open with Y after the PF closed" OK "$VF_OPEN" --token "$y" "$vf"

exit $((failed != 0))
