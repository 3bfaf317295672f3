#!/bin/bash
# The README's first command: installs what vfio-tokend needs (tools/deps.sh), builds it, and
# runs a walkthrough of the daemon (tools/demo-run.sh) on a private system bus with a real
# dbus-daemon and polkitd, against the kernel model: no SR-IOV hardware needed, nothing on the
# host changed but the packages. Run as root: sudo ./tools/demo.sh
#
# Builds out of tree in _build/ (running autoreconf first in a fresh checkout), or in place if
# the source tree is configured in place already (a developer's tree stays as it is).
# JOBS sets make's parallelism (default 2). Exits 0 if the demo did everything it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
jobs=${JOBS:-2}

say() {
        printf 'demo: %s\n' "$*"
}

# run_logged LOG CMD...: CMD's output goes to LOG; if it fails, show the end of LOG.
run_logged() {
        local log=$1
        shift
        if ! "$@" >"$log" 2>&1; then
                tail -n 40 "$log" >&2
                say "failed: $* (whole log: $log)" >&2
                exit 1
        fi
}

if [ "$(id -u)" -ne 0 ]; then
        echo "demo: run as root (sudo $0): it installs packages, and the demo uses a mount namespace," >&2
        echo "      a private dbus-daemon and polkitd, and test users." >&2
        exit 1
fi

bash tools/deps.sh

if [ -f config.status ]; then
        build=$src
        say "the source tree is configured in place: building there (make -j$jobs)"
else
        build=$src/_build
        if [ ! -x configure ]; then
                say "generating configure (autoreconf -fi)"
                run_logged "$src/autoreconf.log" autoreconf -fi
        fi
        mkdir -p "$build"
        if [ ! -f "$build/config.status" ]; then
                say "configuring in _build/ (../configure)"
                (cd "$build" && run_logged "$build/configure.log" ../configure)
        fi
        say "building in _build/ (make -j$jobs)"
fi
run_logged "$build/demo-build.log" make -C "$build" -j"$jobs"
say "built; starting the walkthrough"

exec env top_srcdir="$src" top_builddir="$build" bash "$src/tools/demo-run.sh"
