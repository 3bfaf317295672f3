#!/bin/bash
# Run a command as root inside a throw-away QEMU guest with an SR-IOV PF and a real vfio-pci.
#
# Usage: run-vm.sh [OPTIONS] KERNEL -- COMMAND [ARG...]
#   KERNEL   6.1, 6.12, or an exact version (6.1.0-56-amd64); fetched into the cache if needed
#            (see fetch-kernels.sh).
# Options:
#   --bind-pf        bind the PF to vfio-pci before COMMAND (default: left on nvme)
#   --vfs N          also create N VFs (implies --bind-pf)
#   --no-prep        do not load the vfio modules nor clear the PF's reset_method
#   --init=KIND      the guest's PID 1: "plain" (default; guest-init runs COMMAND) or "systemd"
#                    (guest-init-systemd: the same prep, then systemd 252 boots multi-user.target
#                    and a job unit runs COMMAND; its journal is appended to the console log)
#   --extra-devices  add a second SR-IOV PF on nvme at 0000:02:00.0 whose VF 0000:02:00.1 is
#                    bound to vfio-pci ($VM_OTHER_VF), and a plain (non-SR-IOV) device on
#                    vfio-pci at 0000:03:00.0 ($VM_PLAIN); the prep sets them up
#   --share DIR      directory shared read-write at the same path (default: the source tree)
#   --cwd DIR        the guest's working directory (default: the shared directory)
#   --env VAR=VALUE  set VAR in COMMAND's environment (repeatable)
#   --timeout SEC    hard limit for the whole VM run (default: $VM_TIMEOUT or 300)
#   --log FILE       guest console log (default: CACHE/logs/KVER.log); the kernel log of the
#                    run is appended to it
#   --mem MB         guest memory (default: 1024)
#   --smp N          guest CPUs (default: $VM_SMP or 1)
#   -v, --verbose    full kernel console, streamed to stderr
#
# The guest: q35 with an Intel IOMMU (interrupt remapping), an emulated NVMe SR-IOV PF at
# 0000:01:00.0 (VFs .1 and .2, each in its own IOMMU group), the host's / read-only under a
# tmpfs overlay (so every host binary is there and the guest may change anything), the shared
# directory read-write. COMMAND runs under bash with a clean environment (PATH, HOME=/root,
# LANG=C.UTF-8, VM_KERNEL, VM_PF, VM_VFS, VM_LIB, VM_RUNDIR); `. "$VM_LIB"` gives it the
# guest-lib.sh helpers. Its stdout and stderr are printed here; its exit code is ours.
# Exit codes of the harness itself: 124 timeout, 125 the VM did not boot or prepare the job.
# Environment: VM_CACHE (kernels, initramfs, logs; default tests/vm/cache), VM_TIMEOUT,
# VM_SMP, VM_ACCEL=tcg (never KVM; by default KVM is used only on a VMX/SVM host without PVM).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${VM_CACHE:-$here/cache}

msg() { echo "run-vm: $*" >&2; }
die() { msg "$*"; exit 125; }

# Absolute: the guest is given paths in it (the kernel's modules).
if ! mkdir -p "$cache" || ! cache=$(cd "$cache" && pwd); then
        die "cannot make the VM cache $cache"
fi
export VM_CACHE=$cache
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

prep=yes numvfs='' share=$top cwd='' timeout=${VM_TIMEOUT:-300} log='' mem=1024 smp=${VM_SMP:-1}
verbose=no kernel='' extra=no init=plain
guest_env=()
while [ $# -gt 0 ]; do
        case $1 in
        --bind-pf) numvfs=${numvfs:-0} ;;
        --vfs) numvfs=$2; shift ;;
        --no-prep) prep=no ;;
        --init=*) init=${1#--init=} ;;
        --init) init=$2; shift ;;
        --extra-devices) extra=yes ;;
        --share) share=$2; shift ;;
        --cwd) cwd=$2; shift ;;
        --env) [[ $2 == [A-Za-z_]*=* ]] || die "--env wants VAR=VALUE"; guest_env+=("$2"); shift ;;
        --timeout) timeout=$2; shift ;;
        --log) log=$2; shift ;;
        --mem) mem=$2; shift ;;
        --smp) smp=$2; shift ;;
        -v|--verbose) verbose=yes ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        -*) msg "unknown option $1"; usage 2 ;;
        *) [ -z "$kernel" ] || die "two kernels given: $kernel, $1"; kernel=$1 ;;
        esac
        shift
done
[ -n "$kernel" ] && [ $# -gt 0 ] || usage 2
[[ $numvfs =~ ^[0-9]*$ ]] || die "--vfs wants a number"
share=$(cd "$share" && pwd) || die "no directory $share"
cwd=${cwd:-$share}
case "$share$cwd" in *[[:space:]]*) die "paths with white space are not supported" ;; esac
[ "$prep" = yes ] || [ -z "$numvfs" ] || die "--bind-pf/--vfs need the prep (drop --no-prep)"
[ "$prep" = yes ] || [ "$extra" = no ] || die "--extra-devices needs the prep (drop --no-prep)"
case $init in
plain) stage2=$here/guest-init ;;
systemd) stage2=$here/guest-init-systemd ;;
*) die "--init wants plain or systemd" ;;
esac

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (run tests/vm/fetch-kernels.sh)"
[ -x /bin/busybox ] || die "busybox missing (run tests/vm/fetch-kernels.sh)"

# --- kernel ----------------------------------------------------------------------------------
kver=$("$here/fetch-kernels.sh" "$kernel") || die "cannot get kernel $kernel"
kroot=$cache/kernels/$kver
vmlinuz=$kroot/boot/vmlinuz-$kver
moddir=$kroot/lib/modules/$kver

# --- initramfs: busybox, /init, and the modules needed to mount the root (decompressed, in
# load order: the guest has no module tools this early) -------------------------------------
initrd=$cache/initramfs/$kver.cpio
build_initramfs() {
        local st dep m d f out
        declare -A deps=() path=() seen=()
        local order=()
        while IFS= read -r dep; do
                f=${dep%%:*}
                m=${f##*/}; m=${m%%.ko*}; m=${m//-/_}
                path[$m]=$f
                deps[$m]=${dep#*:}
        done < "$moddir/modules.dep"
        visit() {
                local m=$1 d n
                [ -z "${seen[$m]:-}" ] || return 0
                seen[$m]=1
                for d in ${deps[$m]}; do
                        n=${d##*/}; n=${n%%.ko*}; n=${n//-/_}
                        visit "$n"
                done
                order+=("$m")
        }
        for m in virtio virtio_ring virtio_pci 9pnet 9pnet_virtio 9p overlay; do
                if [ -n "${path[$m]:-}" ]; then
                        visit "$m"
                elif ! grep -q "/${m//_/[-_]}\.ko" "$moddir/modules.builtin"; then
                        die "$kver has no module $m"
                fi
        done
        st=$(mktemp -d "$cache/initramfs/tmp.XXXXXX")
        mkdir -p "$st"/{bin,dev,proc,sys,modules}
        cp /bin/busybox "$st/bin/busybox"
        for f in sh mount umount insmod mkdir cat sleep poweroff switch_root; do
                ln -s busybox "$st/bin/$f"
        done
        cp "$here/initramfs-init" "$st/init"
        chmod 755 "$st/init"
        : > "$st/modules/load-order"
        for m in "${order[@]}"; do
                f=$moddir/${path[$m]}
                out=$st/modules/$m.ko
                case $f in
                *.ko.xz) xz -dc "$f" > "$out" ;;
                *.ko.zst) zstd -qdc "$f" > "$out" ;;
                *.ko.gz) gzip -dc "$f" > "$out" ;;
                *) cp "$f" "$out" ;;
                esac
                echo "$m.ko" >> "$st/modules/load-order"
        done
        (cd "$st" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc -R 0:0 2>/dev/null) > "$st.cpio"
        mv "$st.cpio" "$initrd"
        rm -rf "$st"
}
mkdir -p "$cache/initramfs" "$cache/logs"
if [ ! -s "$initrd" ] || [ "$here/initramfs-init" -nt "$initrd" ] || [ "$0" -nt "$initrd" ] ||
   [ /bin/busybox -nt "$initrd" ]; then
        build_initramfs
fi

# --- accelerator: KVM only on a real VMX/SVM host (a PVM "KVM" hangs a stock kernel's boot) --
accel=tcg
if [ "${VM_ACCEL:-}" = tcg ]; then
        :
elif [ -r /dev/kvm ] && [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo &&
     ! grep -qw kvm_pvm /proc/modules 2>/dev/null && [ ! -e /sys/module/kvm_pvm ]; then
        accel=kvm
fi
# shellcheck disable=SC2054 # commas are part of the QEMU options
if [ $accel = kvm ]; then
        machine=(-machine q35,kernel-irqchip=split -accel kvm -cpu host)
else
        machine=(-machine q35 -accel tcg,thread=multi)
fi

# --- run directory: params + job in, output + status + dmesg out ---------------------------
run=$(mktemp -d "${TMPDIR:-/tmp}/vm-run.XXXXXX")
qpid=
cleanup() {
        [ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
        rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
{
        printf 'VM_KVER=%q\nVM_MODDIR=%q\nVM_PREP=%q\nVM_NUMVFS=%q\nVM_CWD=%q\nVM_LIB=%q\nVM_EXTRA=%q\n' \
                "$kver" "$moddir" "$prep" "$numvfs" "$cwd" "$here/guest-lib.sh" "$extra"
        printf 'VM_PF=0000:01:00.0\nVM_VFS="0000:01:00.1 0000:01:00.2"\n'
        printf 'VM_ENV=('; [ ${#guest_env[@]} = 0 ] || printf '%q ' "${guest_env[@]}"; printf ')\n'
} > "$run/params"
{ printf 'exec'; printf ' %q' "$@"; printf '\n'; } > "$run/job"
: > "$run/output"

log=${log:-$cache/logs/$kver.log}
mkdir -p "$(dirname "$log")"
: > "$log"

extra_devices=()
if [ $extra = yes ]; then
        # shellcheck disable=SC2054
        extra_devices=(
                -device pcie-root-port,id=rp1,chassis=2,slot=2
                -device nvme-subsys,id=ss1
                -device nvme,serial=y,subsys=ss1,bus=rp1,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
                -device pcie-root-port,id=rp2,chassis=3,slot=3
                -device edu,bus=rp2)
fi

if [ $verbose = yes ]; then
        quiet="loglevel=7"
else
        quiet="quiet loglevel=3"
fi
append="console=ttyS0 $quiet panic=-1 intel_iommu=on mitigations=off tsc=reliable no_timer_check"
append+=" i8042.noaux i8042.nopnp 8250.nr_uarts=1 random.trust_cpu=on"
append+=" vm.init=$stage2 vm.share=$share"

# shellcheck disable=SC2054
qemu=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
        "${machine[@]}" -m "$mem" -smp "$smp"
        -kernel "$vmlinuz" -initrd "$initrd" -append "$append"
        -chardev "file,id=con,path=$log" -serial chardev:con
        -device intel-iommu,intremap=on
        -device pcie-root-port,id=rp0,chassis=1,slot=1
        -device nvme-subsys,id=ss0
        -device nvme,serial=x,subsys=ss0,bus=rp0,sriov_max_vfs=2,sriov_vq_flexible=4,sriov_vi_flexible=2
        "${extra_devices[@]}"
        -fsdev local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
        -fsdev "local,id=vmrun,path=$run,security_model=none"
        -device virtio-9p-pci,fsdev=vmrun,mount_tag=vmrun
        -fsdev "local,id=vmshare,path=$share,security_model=none,multidevs=remap"
        -device virtio-9p-pci,fsdev=vmshare,mount_tag=vmshare)

timeout --kill-after=5 "$timeout" "${qemu[@]}" </dev/null >"$run/qemu.out" 2>&1 &
qpid=$!
tail -n +1 -f --pid="$qpid" "$run/output" &
tpid=$!
if [ $verbose = yes ]; then
        tail -n +1 -f --pid="$qpid" "$log" >&2 &
fi
rc=0
wait "$qpid" || rc=$?
qpid=
wait "$tpid" 2>/dev/null || true
wait 2>/dev/null || true
if [ $rc = 124 ] || [ $rc = 137 ]; then
        msg "timeout after ${timeout}s: the VM was killed"
        rc=124
fi

if [ -s "$run/dmesg" ]; then
        { echo; echo "===== dmesg at the end of the job ====="; cat "$run/dmesg"; } >> "$log"
fi
if [ -s "$run/journal" ]; then
        { echo; echo "===== journal at the end of the job ====="; cat "$run/journal"; } >> "$log"
fi
if [ $rc = 124 ]; then
        :
elif [ -s "$run/status" ]; then
        rc=$(cat "$run/status")
else
        rc=125
fi
if [ "$rc" = 125 ] || [ "$rc" = 124 ]; then
        if [ -s "$run/qemu.out" ]; then
                msg "qemu said:"; sed 's/^/  /' "$run/qemu.out" >&2
        fi
        msg "the VM did not complete the job (exit $rc); end of the console log $log:"
        tail -n 25 "$log" | sed 's/^/  /' >&2
fi
exit "$rc"
