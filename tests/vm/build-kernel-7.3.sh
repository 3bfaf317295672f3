#!/bin/bash
# Build the VM suite's guest kernel with IOMMUFD and the VFIO cdev API (Debian's kernels have
# `# CONFIG_IOMMUFD is not set`, so none of them can test the daemon's cdev backend):
#  - the source: Debian's linux-source-7.3 from trixie-backports, fetched with `apt-get
#    download` through a private apt configuration in the cache (the host's apt sources stay
#    as they are; the mirror is the one the host uses for its own release);
#  - the configuration: `make x86_64_defconfig kvm_guest.config` + kernel-7.3-iommufd.config
#    (next to this script);
#  - the result: bzImage + modules, laid out like fetch-kernels.sh's kernels, in
#    CACHE/kernels/KVER/ (KVER: 7.3.N-iommufd), with .complete and the fragment's hash.
# Rebuilt only when missing or when the fragment (or this script's build recipe) changed. Takes
# about 25 minutes on 2 idle cores; the source and object trees stay in CACHE/build-7.3/ so a
# fragment change rebuilds incrementally.
#
# Usage: build-kernel-7.3.sh [--no-install] [--cached] [--force]
#   --no-install  do not install missing host packages (flex, bison, libelf-dev, bc)
#   --cached      build nothing: exit 0 if an up-to-date kernel is in the cache, 1 if not
#   --force       rebuild even if an up-to-date kernel is cached
# Prints the kernel version on stdout; progress on stderr, the build's output in
# CACHE/logs/build-kernel-7.3.log. Needs root for the apt download and host packages.
# Cache: $VM_CACHE, default tests/vm/cache/ next to this script. Jobs: $KERNEL_JOBS or nproc.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${VM_CACHE:-$here/cache}
fragment=$here/kernel-7.3-iommufd.config
package=linux-source-7.3
suite=trixie-backports
localversion=-iommufd
# Bump when the recipe below changes in a way that changes the result (the key includes it).
recipe=1

install=yes cached_only=no force=no
msg() { echo "build-kernel-7.3: $*" >&2; }
die() { msg "$*"; exit 1; }
for a in "$@"; do
        case $a in
        --no-install) install=no ;;
        --cached) cached_only=yes ;;
        --force) force=yes ;;
        -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument $a" ;;
        esac
done

[ -f "$fragment" ] || die "no $fragment"
key=$({ echo "recipe $recipe $package $localversion"; cat "$fragment"; } | sha256sum | cut -c1-16)
mkdir -p "$cache/kernels" "$cache/logs"
cache=$(cd "$cache" && pwd)

# The cached kernel whose key is ours, if any.
find_cached() {
        local d
        for d in "$cache"/kernels/7.3.*"$localversion"; do
                [ -f "$d/.complete" ] && [ "$(cat "$d/.build-key" 2>/dev/null)" = "$key" ] || continue
                echo "${d##*/}"
                return 0
        done
        return 1
}

if [ $force = no ] && kver=$(find_cached); then
        echo "$kver"
        exit 0
fi
if [ $cached_only = yes ]; then
        exit 1
fi

# One builder at a time per cache (CI and a developer may share one); another builder may
# have finished while we waited.
exec 8>"$cache/.lock-build-7.3"
if ! flock -n 8; then
        msg "another build is running; waiting for it"
        flock 8
fi
if [ $force = no ] && kver=$(find_cached); then
        echo "$kver"
        exit 0
fi

[ "$(id -u)" = 0 ] || die "needs root (apt-get download, host packages)"

# --- host packages ---------------------------------------------------------------------------
missing=()
for p in flex bison libelf-dev libssl-dev bc make gcc xz-utils; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v /bin/busybox >/dev/null || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
        [ $install = yes ] || die "missing host packages: ${missing[*]}"
        msg "installing ${missing[*]}"
        apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || die "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
                --no-install-recommends "${missing[@]}" >&2 || die "apt-get install failed"
fi

# --- source: linux-source-7.3 through a private apt configuration ------------------------------
b=$cache/build-7.3
apt=$b/apt
mkdir -p "$apt"/{etc/sources.list.d,etc/preferences.d,lists/partial,archives/partial}
chmod 755 "$b"
# The mirror the host uses for Debian's own release serves trixie-backports too.
uri=$(apt-cache policy 2>/dev/null |
        awk '$2 ~ /^[a-z]+:\/\// && $3 ~ /^(bookworm|trixie)\/main$/ { print $2; exit }')
[ -n "$uri" ] || die "no Debian mirror in the host's apt sources"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || die "no $keyring (debian-archive-keyring)"
cat > "$apt/etc/sources.list.d/$suite.sources" <<EOF
Types: deb
URIs: $uri
Suites: $suite
Components: main
Architectures: amd64
Signed-By: $keyring
EOF
chmod -R a+rX "$apt"   # apt-get runs its downloads as _apt
aptopts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/etc/sources.list.d"
        -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
        -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt" -o "Dir::Cache::Archives=$apt/archives"
        -o "Dir::State::status=/dev/null" -o "APT::Architectures=amd64" -o "Acquire::Languages=none")
msg "apt-get update ($suite, private lists in $apt)"
apt-get "${aptopts[@]}" update -qq >&2 || die "apt-get update of $suite failed"
version=$(apt-cache "${aptopts[@]}" show "$package" 2>/dev/null | awk '/^Version:/ { print $2; exit }')
[ -n "$version" ] || die "$package not found in $suite"

src=$b/src obj=$b/obj
if [ "$(cat "$src/.package-version" 2>/dev/null)" != "$version" ]; then
        rm -rf "$src" "$obj" "$b"/dl.*
        dl=$(mktemp -d "$b/dl.XXXXXX"); chmod 755 "$dl"
        msg "downloading $package $version (about 170 MB)"
        (cd "$dl" && apt-get "${aptopts[@]}" download -qq "$package=$version" >&2) ||
                die "apt-get download $package failed"
        msg "unpacking"
        dpkg-deb --fsys-tarfile "$dl"/*.deb | tar -x -C "$dl" --wildcards './usr/src/linux-source-*.tar.*' ||
                die "$package holds no source tarball"
        mkdir -p "$src"
        tar -x -C "$src" --strip-components=1 -f "$dl"/usr/src/linux-source-*.tar.* ||
                die "unpacking the source failed"
        rm -rf "$dl"
        echo "$version" > "$src/.package-version"
fi

# --- configure and build ---------------------------------------------------------------------
log=$cache/logs/build-kernel-7.3.log
: > "$log"
jobs=${KERNEL_JOBS:-$(nproc)}
kmake() { make -C "$src" O="$obj" LOCALVERSION= -j"$jobs" "$@" >> "$log" 2>&1; }
mkdir -p "$obj"
cp "$fragment" "$src/kernel/configs/vfio-tokend-iommufd.config"
msg "configuring (x86_64_defconfig kvm_guest.config + ${fragment##*/})"
kmake x86_64_defconfig kvm_guest.config vfio-tokend-iommufd.config || die "configuration failed (see $log)"
kmake olddefconfig || die "configuration failed (see $log)"
# Each setting of the fragment must have survived Kconfig (a dependency it lacks drops it).
bad=()
while IFS= read -r line; do
        case $line in
        CONFIG_*=*) want=$line; name=${line%%=*} ;;
        "# CONFIG_"*" is not set") name=${line#\# }; name=${name%% *}; want=$line ;;
        *) continue ;;
        esac
        got=$(grep -E "^($name=|# $name is not set)" "$obj/.config" || true)
        # An option that no longer exists, or that Kconfig hides, counts as not set.
        [ -n "$got" ] || got="# $name is not set"
        [ "$got" = "$want" ] || bad+=("$want (got: $got)")
done < "$fragment"
if [ ${#bad[@]} -gt 0 ]; then
        printf '  %s\n' "${bad[@]}" >&2
        die "the configuration does not have what ${fragment##*/} asks for"
fi
msg "building (bzImage + modules, $jobs jobs; log: $log)"
start=$SECONDS
kmake bzImage modules || { tail -n 30 "$log" >&2; die "the build failed (see $log)"; }
# Known only once the build has synced the configuration.
kver=$(cat "$obj/include/config/kernel.release")
[[ $kver == 7.3.*"$localversion" ]] || die "unexpected kernel release '$kver' (want 7.3.N$localversion)"
msg "built $kver in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"

# --- install into the cache, laid out like fetch-kernels.sh's kernels ------------------------
rm -rf "$cache"/kernels/tmp.*
tmp=$(mktemp -d "$cache/kernels/tmp.XXXXXX")
chmod 755 "$tmp"
mkdir -p "$tmp/boot"
cp "$obj/arch/x86/boot/bzImage" "$tmp/boot/vmlinuz-$kver"
cp "$obj/System.map" "$tmp/boot/System.map-$kver"
cp "$obj/.config" "$tmp/boot/config-$kver"
kmake INSTALL_MOD_PATH="$tmp" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true modules_install ||
        die "modules_install failed (see $log)"
rm -f "$tmp/lib/modules/$kver/build" "$tmp/lib/modules/$kver/source"
/bin/busybox depmod -b "$tmp" "$kver" || die "depmod $kver failed"
if /sbin/depmod --version 2>/dev/null | grep -q kmod; then
        /sbin/depmod -b "$tmp" "$kver" || die "depmod $kver failed"
fi
echo "$version" > "$tmp/.package-version"
echo "$key" > "$tmp/.build-key"
touch "$tmp/.complete"
rm -rf "$cache/kernels/$kver"
mv "$tmp" "$cache/kernels/$kver"
# run-vm.sh's initramfs of an older build of this version holds that build's modules.
rm -f "$cache/initramfs/$kver.cpio"
msg "$kver ready in $cache/kernels/$kver"
echo "$kver"
