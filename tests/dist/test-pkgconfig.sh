#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# libvfio-token as a program outside the tree gets it: the library, its headers and vfio-token.pc
# installed (make install DESTDIR=, the installed layout), then a small program built with plain
# `pkg-config --cflags --libs vfio-token` (no --static), linked, and run. It calls the library
# and sd-bus itself (sd_bus_error_free), as the header's usage does; with no bus to reach it
# must fail cleanly with -errno.

set -euo pipefail

builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
[[ -f $builddir/Makefile ]] || { echo "SKIP: $builddir is not a configured build tree"; exit 77; }
# shellcheck source=tests/common/sub-make.sh
. "$srcdir/tests/common/sub-make.sh"
tmp=$(mktemp -d "/tmp/$(basename "$0" .sh).XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The program below must find no daemon: never a real system bus.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/no-such-socket"
unset DBUS_SESSION_BUS_ADDRESS

command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
cc=${CC:-cc}
command -v "$cc" >/dev/null || { echo "SKIP: no C compiler ($cc)"; exit 77; }

failures=0
checks=0
check() { # WHAT COMMAND...
        local what=$1
        shift
        checks=$((checks + 1))
        if "$@" >"$tmp/check.out" 2>&1; then
                echo "ok: $what"
        else
                echo "FAIL: $what: $(head -c 2000 "$tmp/check.out")"
                failures=$((failures + 1))
        fi
}

# Only what a library user gets; from the Makefile's own install rules, not a copy of them.
stage=$tmp/stage
sub_make DESTDIR="$stage" install-libLIBRARIES install-includeHEADERS install-pkgconfigDATA \
        >"$tmp/install.out" 2>&1 ||
        { echo "FAIL: make install: $(cat "$tmp/install.out")"; exit 1; }
pc=$(find "$stage" -name vfio-token.pc)
[[ -n $pc ]] || { echo "FAIL: vfio-token.pc not installed"; exit 1; }

# The installed paths, seen through the staging directory.
export PKG_CONFIG_PATH=${pc%/*}
export PKG_CONFIG_SYSROOT_DIR=$stage

check "pkg-config knows vfio-token" pkg-config --exists --print-errors vfio-token
libs=$(pkg-config --libs vfio-token)
cflags=$(pkg-config --cflags vfio-token)
check "--libs (no --static) names -lvfio-token: $libs" grep -qw -- -lvfio-token <<<"$libs"
sd_libs=$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --libs-only-l libsystemd | xargs)
check "--libs (no --static) names libsystemd's $sd_libs: $libs" grep -qF -- "$sd_libs" <<<"$libs"
check "libsystemd is required publicly" grep -qx 'libsystemd' <(pkg-config --print-requires vfio-token)

cat >"$tmp/prog.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vfio-token.h>

int main(void) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        VfioTokenLease *lease = NULL;
        char token[VFIO_TOKEN_STRING_MAX];
        int r;

        r = vfio_token_acquire(NULL, "0000:3b:02.0", 0, &e, &lease, token);
        sd_bus_error_free(&e);
        vfio_token_release(lease, NULL);
        printf("%s %s\n", r < 0 ? "failed" : "granted", VFIO_TOKEN_BUS_NAME);
        return r < 0 ? 0 : 1;
}
C
# A sanitizer build's library needs the sanitizer runtimes in the program too (make passes them).
san=${SAN_LDFLAGS:-}
# shellcheck disable=SC2086 # pkg-config's output is words
check "a program builds and links with \`pkg-config --cflags --libs vfio-token\`" \
        "$cc" -o "$tmp/prog" "$tmp/prog.c" $cflags $libs $san
# shellcheck disable=SC2086
check "... also with --as-needed and the libraries after the object" \
        "$cc" -o "$tmp/prog-as-needed" "$tmp/prog.c" -Wl,--as-needed $cflags $libs $san
if [[ -x $tmp/prog ]]; then
        check "it runs: no bus to reach is a clean failure" grep -qx "failed org.vfio.Tokend1" <("$tmp/prog")
fi

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
