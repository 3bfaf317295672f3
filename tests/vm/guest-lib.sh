# shellcheck shell=bash
# Shell helpers for jobs running inside the test VM (bash; sourced by guest-init, and by a job
# with `. "$VM_LIB"`). They do by hand what an admin (or `vfio-tokend --setup`) does on a real
# host, so a job can set up exactly the state it wants. Each returns non-zero on failure with
# a message on stderr.

VM_PF=${VM_PF:-0000:01:00.0}
VM_VFS=${VM_VFS:-"0000:01:00.1 0000:01:00.2"}

VM_OTHER_PF=${VM_OTHER_PF:-0000:02:00.0}
VM_OTHER_VF=${VM_OTHER_VF:-0000:02:00.1}
VM_PLAIN=${VM_PLAIN:-0000:03:00.0}

vm_err() { echo "vm: $*" >&2; return 1; }

vm_dev() { echo "/sys/bus/pci/devices/$1"; }

# Print the driver bound to ADDR, or nothing.
vm_driver() {
        local l
        l=$(readlink "$(vm_dev "$1")/driver" 2>/dev/null) || return 0
        echo "${l##*/}"
}

# Print the IOMMU group number of ADDR.
vm_group() {
        local l
        l=$(readlink "$(vm_dev "$1")/iommu_group") || vm_err "$1 has no IOMMU group" || return
        echo "${l##*/}"
}

# Load the vfio modules the way the tests need them (vfio_iommu_type1 is not pulled in by
# vfio-pci; SR-IOV on a vfio-pci PF needs enable_sriov=1).
vm_load_vfio() {
        modprobe vfio || vm_err "modprobe vfio failed" || return
        modprobe vfio_iommu_type1 || vm_err "modprobe vfio_iommu_type1 failed" || return
        modprobe vfio-pci enable_sriov=1 || vm_err "modprobe vfio-pci failed" || return
        [ -c /dev/vfio/vfio ] || vm_err "/dev/vfio/vfio missing"
}

# QEMU 7.2's emulated NVMe drops its VFs on a PF reset, which vfio-pci does on every PF
# open/close: disable the PF's reset methods (test setup only; real hardware does not need it).
vm_no_reset() {
        echo > "$(vm_dev "${1:-$VM_PF}")/reset_method" || vm_err "cannot clear reset_method of ${1:-$VM_PF}"
}

# Bind ADDR to DRIVER (default vfio-pci) through driver_override.
vm_bind() {
        local a=$1 drv=${2:-vfio-pci} d cur
        d=$(vm_dev "$a")
        [ -e "$d" ] || vm_err "no PCI device $a" || return
        cur=$(vm_driver "$a")
        [ "$cur" = "$drv" ] && return 0
        echo "$drv" > "$d/driver_override" || vm_err "driver_override of $a failed" || return
        if [ -n "$cur" ]; then
                echo "$a" > "$d/driver/unbind" || vm_err "unbind $a from $cur failed" || return
        fi
        echo "$a" > /sys/bus/pci/drivers_probe 2>/dev/null
        cur=$(vm_driver "$a")
        [ "$cur" = "$drv" ] || vm_err "$a bound to '${cur:-nothing}', not $drv"
}

# Unbind ADDR from its driver and clear driver_override.
vm_unbind() {
        local a=$1 d
        d=$(vm_dev "$a")
        echo > "$d/driver_override" 2>/dev/null
        [ -e "$d/driver" ] || return 0
        echo "$a" > "$d/driver/unbind" || vm_err "unbind $a failed"
}

# Set the VF count of PF (writes 0 first if a different non-zero count is set).
vm_set_numvfs() {
        local pf=${1:-$VM_PF} n=${2:-2} d cur v
        d=$(vm_dev "$pf")
        cur=$(cat "$d/sriov_numvfs") || return
        [ "$cur" = "$n" ] && return 0
        if [ "$cur" != 0 ] && [ "$n" != 0 ]; then
                echo 0 > "$d/sriov_numvfs" || vm_err "sriov_numvfs=0 on $pf failed" || return
        fi
        echo "$n" > "$d/sriov_numvfs" || vm_err "sriov_numvfs=$n on $pf failed" || return
        for v in "$d"/virtfn*; do
                [ -e "$v" ] || continue
                [ -e "$v/iommu_group" ] || vm_err "VF ${v##*/} has no IOMMU group" || return
        done
}

# What the test VM does before a job by default: modules loaded, PF reset disabled, PF left on
# whatever driver it has (nvme, loaded here so the PF starts where a real host's would).
vm_prep() {
        vm_load_vfio || return
        modprobe nvme 2>/dev/null || true
        vm_no_reset "$VM_PF"
}

# Everything `vfio-tokend --setup` would do for the test PF, by hand: bind the PF to vfio-pci
# and create N VFs (auto-bound to vfio-pci).
vm_setup_pf() {
        local n=${1:-2}
        vm_bind "$VM_PF" vfio-pci || return
        [ "$n" = 0 ] || vm_set_numvfs "$VM_PF" "$n"
}

# With run-vm.sh --extra-devices: a VF on vfio-pci whose PF stays on nvme (VM_OTHER_VF), and a
# device on vfio-pci that is neither PF nor VF (VM_PLAIN). The other PF's VF must not be
# probed by nvme (an unprovisioned QEMU NVMe VF never becomes ready): no autoprobe, then bind.
vm_setup_extra() {
        local d
        d=$(vm_dev "$VM_OTHER_PF")
        [ "$(vm_driver "$VM_OTHER_PF")" = nvme ] || vm_err "$VM_OTHER_PF not on nvme" || return
        echo > "$d/reset_method" || return
        echo 0 > "$d/sriov_drivers_autoprobe" || return
        vm_set_numvfs "$VM_OTHER_PF" 1 || return
        vm_bind "$VM_OTHER_VF" vfio-pci || return
        vm_bind "$VM_PLAIN" vfio-pci
}
