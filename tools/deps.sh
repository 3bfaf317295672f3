#!/bin/bash
# Installs everything vfio-tokend needs to build, run its demo and run all its tests on Debian 12
# (or a recent Ubuntu). Idempotent: installs only what is missing. Needs root.
set -euo pipefail

packages=(
        # build
        build-essential autoconf automake autoconf-archive pkg-config libtool
        libsystemd-dev uuid-dev libcap-ng-dev check
        # run, demo and integration tests: a real bus, a real polkitd, namespaces, setpriv
        systemd dbus-daemon dbus-bin polkitd util-linux procps
        # checks: sanitizers, valgrind, fuzzing, man pages (groff -man -ww)
        valgrind clang groff-base
        # the Debian package (debian/, built and checked by test-all.sh)
        debhelper lintian
        # VM tests: the real kernel's vfio-pci in a QEMU guest
        qemu-system-x86 busybox-static xz-utils cpio
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The VM suite's VMM job (tests/vm/job-qemu.sh) needs a QEMU with vf-token (8.1.3 or later:
# 8.1.0-8.1.2 overflow a stack buffer with it) and libvirt 11. Debian 12 has QEMU 7.2 and
# libvirt 9.0; its bookworm-backports has QEMU 10.0 and libvirt 11.3 (the outer QEMU of the VM
# suite works as well with it). Only those two source packages (and seabios, which QEMU 10
# needs) come from there: `apt-get install -t bookworm-backports` would also take systemd 254
# and libsystemd-dev from it, and the VM suite's systemd job boots the host's systemd 252.
vmm_packages=(qemu-system-x86 libvirt-daemon-system libvirt-clients)
vmm_minimum=(1:8.1.3 11 11)
# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
backports=
[ "$codename" = bookworm ] && backports=bookworm-backports
vmm_missing=()
for i in "${!vmm_packages[@]}"; do
        p=${vmm_packages[i]}
        v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || v=
        if [ -z "$v" ] || ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
           ! dpkg --compare-versions "$v" ge "${vmm_minimum[i]}"; then
                vmm_missing+=("$p")
        fi
done
# Installed in one go below: without backports they come from the release like the rest.
if [ -n "$backports" ]; then
        keep=()
        for p in "${missing[@]}"; do
                case " ${vmm_missing[*]} " in
                *" $p "*) ;;
                *) keep+=("$p") ;;
                esac
        done
        missing=("${keep[@]}")
else
        missing+=("${vmm_missing[@]}")
        vmm_missing=()
fi

if [ ${#missing[@]} -eq 0 ] && [ ${#vmm_missing[@]} -eq 0 ]; then
        echo "deps: all ${#packages[@]} packages present${backports:+ (QEMU and libvirt from $backports)}."
        exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing packages (${missing[*]} ${vmm_missing[*]}); run as root (sudo $0)." >&2
        exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -o DPkg::Lock::Timeout=300)
if [ ${#vmm_missing[@]} -gt 0 ]; then
        list=/etc/apt/sources.list.d/$backports.list
        if ! apt-cache policy 2>/dev/null | grep -q "n=$backports"; then
                echo "deps: adding $backports ($list)"
                echo "deb http://deb.debian.org/debian $backports main" >"$list"
        fi
fi
echo "deps: installing ${missing[*]} ${vmm_missing[*]}"
"${apt[@]}" update -q
if [ ${#missing[@]} -gt 0 ]; then
        "${apt[@]}" install -y -q --no-install-recommends "${missing[@]}"
fi
if [ ${#vmm_missing[@]} -gt 0 ]; then
        # A preference for this command only: nothing else on the machine changes its origin.
        pref=$(mktemp)
        trap 'rm -f "$pref"' EXIT
        printf 'Package: src:qemu src:libvirt src:seabios\nPin: release n=%s\nPin-Priority: 990\n' \
                "$backports" >"$pref"
        "${apt[@]}" -o Dir::Etc::Preferences="$pref" install -y -q --no-install-recommends "${vmm_missing[@]}"
fi
