#!/bin/bash
# Prepare everything the VM tests need on the host:
#  - host packages (qemu-system-x86, busybox-static, xz-utils), installed with apt-get if missing;
#  - the guest kernels, taken from Debian's archive with `apt-get download` + `dpkg -x` (never
#    installed on the host), depmod'ed with busybox (the host has no kmod).
#
# Usage: fetch-kernels.sh [--no-install] [SERIES|PACKAGE...]
#   SERIES is 6.1 (bookworm's linux-image-6.1.0-N-amd64) or 6.12 (bookworm-security's
#   linux-image-6.12.N+deb12-amd64); PACKAGE is an exact linux-image-*-amd64 name. 7.3 (or its
#   version, 7.3.N-iommufd) is the suite's own kernel with IOMMUFD, built from Debian's
#   linux-source-7.3 by build-kernel-7.3.sh (with --no-install: only if already built).
#   Default: $VM_KERNELS, else "6.1 6.12".
# Prints the kernel version of each prepared kernel on stdout, one per line, in argument order;
# progress goes to stderr. Idempotent: a series already in the cache is reused as is (no
# network), so a once-prepared cache keeps working offline.
#
# Cache: $VM_CACHE, default tests/vm/cache/ next to this script.
#   kernels/KVER/boot/vmlinuz-KVER, kernels/KVER/lib/modules/KVER/..., kernels/KVER/.complete
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VM_CACHE:-$here/cache}
install=yes

msg() { echo "fetch-kernels: $*" >&2; }
die() { msg "$*"; exit 1; }

args=()
for a in "$@"; do
        case $a in
        --no-install) install=no ;;
        -h|--help) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 0 ;;
        -*) die "unknown option $a" ;;
        *) args+=("$a") ;;
        esac
done
[ ${#args[@]} -gt 0 ] || read -r -a args <<<"${VM_KERNELS:-6.1 6.12}"

apt_updated=no
apt_update() {
        [ $apt_updated = yes ] && return 0
        msg "apt-get update"
        apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || die "apt-get update failed"
        apt_updated=yes
}

need_root() {
        [ "$(id -u)" = 0 ] || die "$1 needs root (or install it yourself: $2)"
}

# --- host packages ---------------------------------------------------------------------------
host_missing=()
command -v qemu-system-x86_64 >/dev/null || host_missing+=(qemu-system-x86)
case " $(/bin/busybox --list 2>/dev/null | tr '\n' ' ') " in
*" depmod "*" modprobe "*) ;;
*) host_missing+=(busybox-static) ;;
esac
command -v xz >/dev/null || host_missing+=(xz-utils)
command -v dpkg-deb >/dev/null || die "dpkg-deb missing: this needs a Debian-based host"
if [ ${#host_missing[@]} -gt 0 ]; then
        [ $install = yes ] || die "missing host packages: ${host_missing[*]}"
        need_root "installing ${host_missing[*]}" "apt-get install ${host_missing[*]}"
        apt_update
        msg "installing ${host_missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
                "${host_missing[@]}" >&2 || die "apt-get install failed"
fi
# busybox-static may be replaced by the dynamic busybox package on some hosts; the initramfs
# needs a static one.
file_is_static() { ! LC_ALL=C readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
if command -v readelf >/dev/null && ! file_is_static /bin/busybox; then
        die "/bin/busybox is not static: install busybox-static"
fi

# --- apt sources -----------------------------------------------------------------------------
# The 6.12 kernels live in bookworm-security. A stock Debian 12 has it in its sources; if this
# one does not, add it next to the mirror that serves bookworm (the security archive sits at
# .../debian-security beside .../debian on Debian's own mirror network).
ensure_security_suite() {
        apt-cache policy 2>/dev/null | grep -q 'n=bookworm-security' && return 0
        apt_update
        apt-cache policy 2>/dev/null | grep -q 'n=bookworm-security' && return 0
        need_root "adding bookworm-security to the apt sources" "add bookworm-security"
        local uri
        uri=$(apt-cache policy 2>/dev/null |
                awk '$2 ~ /^[a-z]+:\/\// && $3 == "bookworm/main" { print $2; exit }')
        [ -n "$uri" ] || die "no bookworm mirror in the apt sources"
        case $uri in
        */debian) uri=${uri%/debian}/debian-security ;;
        */debian/) uri=${uri%/debian/}/debian-security ;;
        *) die "cannot derive a bookworm-security URI from $uri: add bookworm-security to the apt sources" ;;
        esac
        msg "adding bookworm-security ($uri) to the apt sources"
        cat >/etc/apt/sources.list.d/vfio-tokend-bookworm-security.sources <<EOF
Types: deb
URIs: $uri
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt_updated=no
        apt_update
}

# --- kernels ---------------------------------------------------------------------------------
series_regex() {
        case $1 in
        6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
        6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
        *) return 1 ;;
        esac
}

cached_kver() {   # newest complete kernel of a series (or exact version) in the cache
        local re=$1 d best=
        for d in "$cache"/kernels/*/; do
                d=${d%/}; d=${d##*/}
                [ -f "$cache/kernels/$d/.complete" ] || continue
                [[ linux-image-$d =~ $re ]] || continue
                best=$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n1)
        done
        echo "$best"
}

newest_package() {
        local re=$1 p
        p=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n1)
        if [ -z "$p" ]; then
                apt_update
                p=$(apt-cache search --names-only "$re" 2>/dev/null | awk '{print $1}' | sort -V | tail -n1)
        fi
        echo "$p"
}

prepare_kernel() {   # package name -> extracted, depmod'ed kernel in the cache
        local pkg=$1 kver tmp deb root
        kver=${pkg#linux-image-}
        root=$cache/kernels/$kver
        [ -f "$root/.complete" ] && return 0
        rm -rf "$cache"/tmp.*
        tmp=$(mktemp -d "$cache/tmp.XXXXXX"); chmod 755 "$tmp"   # apt-get download runs as _apt
        msg "downloading $pkg"
        (cd "$tmp" && apt-get download -qq "$pkg" >&2) || { rm -rf "$tmp"; return 1; }
        deb=$(ls "$tmp"/*.deb)
        rm -rf "$root"
        mkdir -p "$tmp/root"
        dpkg-deb -x "$deb" "$tmp/root"
        # Only the kernel and its modules are needed; the package's docs and scripts are not.
        if [ -d "$tmp/root/usr/lib/modules" ] && [ ! -e "$tmp/root/lib/modules" ]; then
                mkdir -p "$tmp/root/lib" && mv "$tmp/root/usr/lib/modules" "$tmp/root/lib/modules"
        fi
        rm -rf "$tmp/root/usr" "$tmp/root/etc"
        [ -f "$tmp/root/boot/vmlinuz-$kver" ] || die "$pkg has no boot/vmlinuz-$kver"
        [ -d "$tmp/root/lib/modules/$kver" ] || die "$pkg has no lib/modules/$kver"
        msg "depmod $kver"
        /bin/busybox depmod -b "$tmp/root" "$kver" || die "depmod $kver failed"
        # A host with kmod gives the guest kmod's modprobe, which wants the binary indexes.
        if /sbin/depmod --version 2>/dev/null | grep -q kmod; then
                /sbin/depmod -b "$tmp/root" "$kver" || die "depmod $kver failed"
        fi
        touch "$tmp/root/.complete"
        mv "$tmp/root" "$root"
        rm -rf "$tmp"
}

mkdir -p "$cache/kernels"
# One preparer at a time per cache (CI and a developer may share one).
exec 9>"$cache/.lock"
flock 9
out=()
for a in "${args[@]}"; do
        case $a in
        7.3|7.3.*-iommufd)
                kver=$("$here/build-kernel-7.3.sh" $([ $install = yes ] || echo --cached)) ||
                        die "kernel 7.3 (IOMMUFD) not available$([ $install = yes ] || echo ": not built (tests/vm/build-kernel-7.3.sh)")"
                [ "$a" = 7.3 ] || [ "$a" = "$kver" ] || die "kernel $a not available (built: $kver)"
                out+=("$kver")
                continue ;;
        esac
        if re=$(series_regex "$a"); then
                :
        elif [[ $a =~ ^linux-image-.*-amd64$ ]]; then
                re="^${a//./\\.}\$"; re=${re//+/\\+}
        elif [[ $a =~ ^[0-9].*-amd64$ ]]; then
                re="^linux-image-${a//./\\.}\$"; re=${re//+/\\+}
        else
                die "unknown kernel '$a' (use 6.1, 6.12, or linux-image-VERSION-amd64)"
        fi
        kver=$(cached_kver "$re")
        if [ -z "$kver" ]; then
                case $a in 6.12|*deb12*) ensure_security_suite ;; esac
                pkg=$(newest_package "$re")
                [ -n "$pkg" ] || die "no package matches $re in the apt sources"
                if ! prepare_kernel "$pkg"; then
                        # Stale package lists: the archive keeps only recent kernels.
                        [ $apt_updated = no ] || die "apt-get download $pkg failed"
                        apt_update
                        pkg=$(newest_package "$re")
                        prepare_kernel "$pkg" || die "apt-get download $pkg failed"
                fi
                kver=${pkg#linux-image-}
        fi
        out+=("$kver")
done
printf '%s\n' "${out[@]}"
