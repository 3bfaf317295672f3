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
        # checks: sanitizers, valgrind, fuzzing, man pages
        valgrind clang groff-base
        # VM tests: the real kernel's vfio-pci in a QEMU guest
        qemu-system-x86 busybox-static xz-utils cpio
)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
        echo "deps: all ${#packages[@]} packages present."
        exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing packages (${missing[*]}); run as root (sudo $0)." >&2
        exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
