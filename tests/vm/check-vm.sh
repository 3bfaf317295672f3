#!/bin/bash
# The VM suite (`make check-vm`, and CI): the real kernel's vfio-pci as the judge, on each guest
# kernel ($VM_KERNELS, default "7.3 6.1 6.12", 7.3 being the suite's own kernel with IOMMUFD and
# the VFIO cdev, built by build-kernel-7.3.sh: under CI=true built when missing, else used only if
# already built):
#  - job-vf-token.sh: the VF token basics with vf-open (PF bind, VFs, no/wrong/right token);
#  - job-daemon.sh: the installed daemon (`make install DESTDIR=...` here, copied into the guest),
#    a real dbus-daemon and polkitd, unprivileged clients: setup from nvme, grants and refusals,
#    a forced rotation, kill -9 and restarts, crashes injected in a rotation (one boot);
#  - job-systemd.sh: systemd 252 as PID 1 in the guest (run-vm.sh --init=systemd): the Debian package
#    built from this tree (in CACHE/systemd-build), installed with apt-get; the unit started,
#    restarted, reloaded, killed, stopped, the PF hot-removed and re-plugged: PF fds kept in the
#    fd store, token unchanged, a VMM's lease kept, a held VF
#    working; `systemd-analyze security` online = offline;
#  - job-qemu.sh (newest kernel only): QEMU and libvirt 11.3 open VFs with brokered tokens, through
#    `vfio-tokenctl qemu` and the installed <emulator> wrapper, the token in no argv or environment;
#  - if tests/scenarios/vfio-scenarios is built: its scenario table run on the real kernel in the
#    guest, compared line by line with the same table run on the kernel model on the host (with
#    the cdev stories on kernels with the cdev, *-iommufd);
#  - on kernels with the cdev: job-vfio-cdev.sh, the daemon's daemon/vfio.c with the cdev API
#    (tests/vm/vfio-pf), and job-daemon.sh and job-systemd.sh again with Api=cdev.
# Ends with "N passed, N failed". Exit: 0 all passed, 1 something failed, 77 (automake's skip)
# when the host lacks QEMU or the kernels and this is not CI. Under CI=true nothing is skipped:
# missing tools are installed (fetch-kernels.sh), and a VM that cannot boot fails the run.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
builddir=${top_builddir:-$top}
# The VM's cache (kernels, initramfs, logs): CI points VM_CACHE at a directory it keeps between
# runs. Absolute, as the guest is told paths in it.
cache=${VM_CACHE:-$here/cache}
if ! mkdir -p "$cache" || ! cache=$(cd "$cache" && pwd); then
        echo "FAIL: VM cache $cache cannot be made"
        echo "0 passed, 1 failed"
        exit 1
fi
export VM_CACHE=$cache
export VM_TIMEOUT=${VM_TIMEOUT:-150}   # per VM run; a good one takes well under a minute (daemon: 90 s)
ci=no
[ "${CI:-}" = true ] && ci=yes
if [ -n "${VM_KERNELS:-}" ]; then
        read -r -a kernels <<<"$VM_KERNELS"
elif [ $ci = yes ] || "$here/build-kernel-7.3.sh" --cached >/dev/null 2>&1; then
        kernels=(7.3 6.1 6.12)
else
        kernels=(6.1 6.12)
        echo "NOTE: the IOMMUFD kernel is not built: the cdev tests do not run (as root:" \
                "tests/vm/build-kernel-7.3.sh, about 30 minutes)"
fi

passed=0 failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
        echo "$passed passed, $failed failed"
        [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
        exit $?
}
skip() {
        echo "SKIP: $*"
        echo "The VM tests need qemu-system-x86, busybox-static and xz-utils, and the Debian guest"
        echo "kernels; as root, tests/vm/fetch-kernels.sh installs and downloads all of it."
        exit 77
}

# --- what the host needs ---------------------------------------------------------------------
if [ $ci = yes ]; then
        kvers=$("$here/fetch-kernels.sh" "${kernels[@]}") || {
                fail "preparing the VM (host packages, guest kernels)"
                finish
        }
else
        command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found"
        kvers=$("$here/fetch-kernels.sh" --no-install "${kernels[@]}") || skip "guest kernels not available"
fi
mapfile -t kvers <<<"$kvers"

cc=${CC:-gcc}
mkdir -p "$cache/bin"
vf_open=$cache/bin/vf-open
if [ ! -x "$vf_open" ] || [ "$here/vf-open.c" -nt "$vf_open" ]; then
        $cc -std=gnu11 -O2 -Wall -Wextra -Werror -o "$vf_open.tmp" "$here/vf-open.c" &&
                mv "$vf_open.tmp" "$vf_open" || { fail "building vf-open"; finish; }
fi

scen=$builddir/tests/scenarios/vfio-scenarios
[ -x "$scen" ] || scen=$top/tests/scenarios/vfio-scenarios
work=$(mktemp -d "${TMPDIR:-/tmp}/check-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ -x "$scen" ]; then
        # The table without the cdev stories (kernels without the cdev), and with them.
        mkdir -p "$work/model"
        if ! "$scen" --backend=model --base="$work/model" --cdev=no > "$work/model.out" 2> "$work/model.err" ||
           ! "$scen" --backend=model --base="$work/model" --cdev=yes > "$work/model-cdev.out" 2>> "$work/model.err"; then
                fail "vfio-scenarios on the kernel model exits 0"
                sed 's/^/  /' "$work/model.err"
        fi
elif [ $ci = yes ]; then
        fail "tests/scenarios/vfio-scenarios is built (make all)"
else
        echo "NOTE: $scen not built: scenario comparison with the kernel model not run"
fi

# The installed files of the daemon job: staged here by `make install DESTDIR=` (under TCG a
# make install in the guest takes 20 s), copied over the guest's / by the job.
dest=$work/destdir
if ! ${MAKE:-make} -C "$builddir" install DESTDIR="$dest" > "$work/install.log" 2>&1; then
        fail "make install DESTDIR=... (for the daemon job)"
        tail -n 20 "$work/install.log" | sed 's/^/  /'
        dest=
fi

# Runs one guest job; the VM not completing it is one failed check. Output in $work/out.
vm() {
        local what=$1 rc
        shift
        "$here/run-vm.sh" "$@" > "$work/out" 2> "$work/err"
        rc=$?
        if [ $rc = 124 ] || [ $rc = 125 ]; then
                fail "$what: the VM did not complete the job (exit $rc)"
                sed 's/^/  /' "$work/err"
        fi
        return $rc
}

# count KVER WHAT RC: adds the PASS/FAIL lines of a job's output ($work/out) to ours; a job that
# failed without saying which check failed is one more failure.
count() {
        local kver=$1 what=$2 rc=$3 n m
        n=$(grep -c '^PASS: ' "$work/out")
        m=$(grep -c '^FAIL: ' "$work/out")
        grep -E '^(PASS|FAIL): ' "$work/out" | sed "s/^\(PASS\|FAIL\): /\1: $kver: /"
        passed=$((passed + n)) failed=$((failed + m))
        if [ "$m" != 0 ]; then
                # The job's own notes (got/want, logs) for the failed checks.
                grep -vE '^(PASS|FAIL): ' "$work/out" | sed 's/^/  /'
        elif [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$rc" != 125 ]; then
                fail "$kver $what exits 0 (exit $rc)"
                sed 's/^/  /' "$work/out"
        fi
}

# The systemd job's build tree: configured for Debian's paths, installed in the guest.
sysd_build=$cache/systemd-build
if ! "$here/job-systemd.sh" --prepare "$sysd_build" > "$work/sysd-prep.log" 2>&1; then
        fail "preparing the build tree of the systemd job (job-systemd.sh --prepare)"
        sed 's/^/  /' "$work/sysd-prep.log"
        sysd_build=
fi

for kver in "${kvers[@]}"; do
        log=$cache/logs/$kver
        echo "=== $kver ==="

        vm "$kver VF token basics" --log "$log-vf-token.log" --env "VF_OPEN=$vf_open" \
                "$kver" -- "$here/job-vf-token.sh"
        count "$kver" "VF token job" $?

        if [ -n "$dest" ]; then
                # Its own share, so the source tree stays read-only (copy-on-write) in the guest.
                rm -rf "$work/daemon" && mkdir -p "$work/daemon"
                vm "$kver daemon" --log "$log-daemon.log" --share "$work/daemon" \
                        --env "VF_OPEN=$vf_open" --env "top_builddir=$builddir" --env "top_srcdir=$top" \
                        --env "VM_DESTDIR=$dest" --env "VM_OUT=$work/daemon" \
                        "$kver" -- "$here/job-daemon.sh"
                count "$kver" "daemon job" $?
                # The daemon's own log, next to the console log, for a look after a failure.
                cp "$work/daemon/daemon.log" "$log-daemon-tokend.log" 2>/dev/null || true
        fi

        # systemd as PID 1 on the newest kernel only (VM_SYSTEMD_ALL=1: on every kernel): the
        # fd store is systemd's, not the kernel's, and the suite must stay within ~5 minutes.
        if [ -n "$sysd_build" ] && { [ "$kver" = "${kvers[${#kvers[@]} - 1]}" ] || [ -n "${VM_SYSTEMD_ALL:-}" ]; }; then
                rm -rf "$work/systemd" && mkdir -p "$work/systemd"
                vm "$kver systemd" --log "$log-systemd.log" --init=systemd --share "$work/systemd" \
                        --timeout "$((VM_TIMEOUT > 480 ? VM_TIMEOUT : 480))" \
                        --env "VF_OPEN=$vf_open" --env "TOKEND_BUILD=$sysd_build" \
                        "$kver" -- "$here/job-systemd.sh"
                count "$kver" "systemd job" $?
        fi

        # QEMU and libvirt (job-qemu.sh) on the newest kernel only (VM_QEMU_ALL=1: on every kernel):
        # the VMMs' side is tested, and libvirt under TCG takes minutes. It needs a QEMU with
        # vf-token and libvirt (tools/deps.sh installs them): without, only CI fails.
        if [ -n "$dest" ] && { [ "$kver" = "${kvers[${#kvers[@]} - 1]}" ] || [ -n "${VM_QEMU_ALL:-}" ]; }; then
                if [ $ci = no ] && { ! command -v libvirtd >/dev/null ||
                                     ! qemu-system-x86_64 -device vfio-pci,help 2>/dev/null | grep -q vf-token; }; then
                        echo "NOTE: no QEMU with vf-token (8.1.3+) or no libvirtd: the QEMU and libvirt job does not run" \
                                "(tools/deps.sh installs them)"
                else
                        rm -rf "$work/qemu" && mkdir -p "$work/qemu"
                        vm "$kver QEMU and libvirt" --log "$log-qemu.log" --share "$work/qemu" \
                                --timeout "$((VM_TIMEOUT > 420 ? VM_TIMEOUT : 420))" \
                                --env "top_builddir=$builddir" --env "top_srcdir=$top" \
                                --env "VM_DESTDIR=$dest" --env "VM_OUT=$work/qemu" \
                                "$kver" -- "$here/job-qemu.sh"
                        count "$kver" "QEMU and libvirt job" $?
                        cp "$work/qemu/daemon.log" "$log-qemu-tokend.log" 2>/dev/null || true
                fi
        fi

        # The cdev: the daemon's vfio.c with Api=cdev, then the daemon itself with Api=cdev, alone
        # and under systemd.
        cdev=no
        case $kver in *-iommufd) cdev=yes ;; esac
        if [ $cdev = yes ]; then
                vm "$kver vfio.c cdev" --log "$log-vfio-cdev.log" --vfs 2 --env "VF_OPEN=$vf_open" \
                        --env "VFIO_PF=$builddir/tests/vm/vfio-pf" "$kver" -- "$here/job-vfio-cdev.sh"
                count "$kver" "vfio.c cdev job" $?
                if [ -n "$dest" ]; then
                        rm -rf "$work/daemon" && mkdir -p "$work/daemon"
                        vm "$kver daemon (Api=cdev)" --log "$log-daemon-cdev.log" --share "$work/daemon" \
                                --env "VF_OPEN=$vf_open" --env "top_builddir=$builddir" --env "top_srcdir=$top" \
                                --env "VM_DESTDIR=$dest" --env "VM_OUT=$work/daemon" --env "VM_API=cdev" \
                                "$kver" -- "$here/job-daemon.sh"
                        count "$kver" "daemon job (Api=cdev)" $?
                        cp "$work/daemon/daemon.log" "$log-daemon-cdev-tokend.log" 2>/dev/null || true
                fi
                # systemd as PID 1 with Api=cdev: the fd store holds the iommufd and the cdev.
                if [ -n "$sysd_build" ]; then
                        rm -rf "$work/systemd" && mkdir -p "$work/systemd"
                        vm "$kver systemd (Api=cdev)" --log "$log-systemd-cdev.log" --init=systemd \
                                --share "$work/systemd" --timeout "$((VM_TIMEOUT > 480 ? VM_TIMEOUT : 480))" \
                                --env "VF_OPEN=$vf_open" --env "TOKEND_BUILD=$sysd_build" --env "VM_API=cdev" \
                                "$kver" -- "$here/job-systemd.sh"
                        count "$kver" "systemd job (Api=cdev)" $?
                fi
        fi

        model=$work/model.out
        [ $cdev = no ] || model=$work/model-cdev.out
        [ -x "$scen" ] && [ -s "$model" ] || continue
        rm -f "$work/kernel.out"
        vm "$kver scenarios" --log "$log-scenarios.log" --share "$work" --vfs 2 --extra-devices \
                "$kver" -- sh -c '"$0" --backend=kernel --cdev="$1" --pf="$VM_PF" --other-vf="$VM_OTHER_VF" \
                        --plain="$VM_PLAIN" > kernel.out' "$scen" "$cdev"
        rc=$?
        [ $rc = 124 ] || [ $rc = 125 ] && continue
        [ $rc = 0 ] || { fail "$kver: vfio-scenarios on the kernel exits 0 (exit $rc)"; sed 's/^/  /' "$work/out"; }
        if [ ! -s "$work/kernel.out" ]; then
                fail "$kver: vfio-scenarios printed nothing on the kernel"
        elif [ "$(wc -l < "$work/kernel.out")" = "$(wc -l < "$model")" ]; then
                # One check per scenario line: the kernel's answer must be the model's.
                while IFS= read -r k <&3 && IFS= read -r md <&4; do
                        if [ "$k" = "$md" ]; then
                                pass "$kver: scenario: $k"
                        else
                                fail "$kver: scenario: kernel '$k', model '$md'"
                        fi
                done 3< "$work/kernel.out" 4< "$model"
        else
                fail "$kver: vfio-scenarios: kernel and model list different scenarios"
                diff -u --label model "$model" --label "kernel $kver" "$work/kernel.out" | sed 's/^/  /'
        fi
done
finish
