#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The man pages against the real behaviour (issue 12 item 4):
#  - every page renders with `groff -man -ww` without a warning (lintian runs man the same way);
#  - org.vfio.Tokend1(5): every PF object path shown is what sd_bus_path_encode() gives for its
#    address (tests/dist/path-encode uses sd-bus itself), as the daemon builds them (daemon/pf.c);
#  - org.vfio.Tokend1(5): the error names of its ERRORS section are exactly those the daemon can
#    send: its own (common/vfio-token-names.h, daemon/bus-manager.c's error map) and the
#    org.freedesktop.DBus.Error ones daemon/*.c replies with;
#  - vfio-tokend.conf(5): the example errors are what `vfio-tokend --check-config` prints for a
#    configuration with those mistakes, and vfio-tokend(8) names that form, FILE:LINE: KEY=VALUE.
set -uo pipefail

srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
man=$srcdir/man
encode=$builddir/tests/dist/path-encode
tokend=$builddir/vfio-tokend
command -v groff >/dev/null || { echo "SKIP: groff is not installed (groff-base)"; exit 77; }
[ -x "$encode" ] || { echo "SKIP: $encode is not built"; exit 77; }

# shellcheck source=tests/common/check.sh
. "$srcdir/tests/common/check.sh"
# Plain text of a page, lines unbroken.
render() { LC_ALL=C.UTF-8 groff -man -Tutf8 -rLL=300n -P-cbou "$1" 2>/dev/null; }

# --- every page renders cleanly ---------------------------------------------------------------
pages=("$man"/*.[1-8])
check "man pages found" test "${#pages[@]}" -ge 4
for p in "${pages[@]}"; do
        LC_ALL=C.UTF-8 groff -man -ww -z -Tutf8 "$p" >"$tmp/groff.err" 2>&1
        check "$(basename "$p"): groff -man -ww: no warnings" test ! -s "$tmp/groff.err"
        sed 's/^/    /' "$tmp/groff.err"
done

# --- org.vfio.Tokend1(5): object paths --------------------------------------------------------
api=$man/org.vfio.Tokend1.5
prefix=/org/vfio/Tokend1/pf
grep -q "sd_bus_path_encode(VFIO_TOKEN_PF_PATH_PREFIX, " "$srcdir/daemon/pf.c"
check "the daemon makes PF paths with sd_bus_path_encode(\"$prefix\", address)" test $? = 0
mapfile -t paths < <(grep -o "$prefix/[A-Za-z0-9_]*" "$api" | sort -u)
check "org.vfio.Tokend1(5) shows PF object paths" test "${#paths[@]}" -gt 0
for path in "${paths[@]}"; do
        addr=$("$encode" decode "$prefix" "$path") || addr=
        want=$([ -n "$addr" ] && "$encode" encode "$prefix" "$addr")
        check "$path is sd_bus_path_encode of ${addr:-?} ($want)" test -n "$addr" -a "$path" = "$want"
        check "... and its address ${addr:-?} appears in the page" grep -qF "${addr:-?}" <(render "$api")
done

# --- org.vfio.Tokend1(5): error names ---------------------------------------------------------
# Documented: the error names set in bold in the ERRORS section.
sed -n '/^\.SH ERRORS/,/^\.SH /p' "$api" | sed -n 's/^\.B \([A-Za-z0-9_.]*\.Error\.[A-Za-z0-9_]*\)$/\1/p' |
        sort -u >"$tmp/documented"
# Defined by the daemon: its own names (all of the header's and the error map's) ...
names_h=$srcdir/common/vfio-token-names.h
sed -n 's/^#define \(VFIO_TOKEN_ERROR_[A-Z_]*\) "\(.*\)"$/\1 \2/p' "$names_h" >"$tmp/own"
{
        cut -d' ' -f2 "$tmp/own"
        grep -o 'SD_BUS_ERROR_MAP(VFIO_TOKEN_ERROR_[A-Z_]*' "$srcdir/daemon/bus-manager.c" | cut -d'(' -f2 |
                while read -r c; do awk -v c="$c" '$1 == c { print $2 }' "$tmp/own"; done
        # ... and the standard ones it replies with (the sd-bus constant in the call that sets
        # or sends the error), named as sd-bus-protocol.h spells them.
        proto=$(pkg-config --variable=includedir libsystemd 2>/dev/null)/systemd/sd-bus-protocol.h
        [ -f "$proto" ] || proto=/usr/include/systemd/sd-bus-protocol.h
        grep -hE 'bus_reply_error\(|sd_bus_error_set(f)?\(|sd_bus_reply_method_error(f)?\(' "$srcdir"/daemon/*.c |
                grep -o 'SD_BUS_ERROR_[A-Z_]*' | grep -v '^SD_BUS_ERROR_NULL$' | sort -u | while read -r c; do
                        # (a #define may go on after a backslash)
                        sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$proto" |
                                sed -n "s/^#define $c[[:space:]]*\"\(.*\)\"$/\1/p"
                done
} | sort -u >"$tmp/defined"
check "org.vfio.Tokend1(5) ERRORS lists error names" test -s "$tmp/documented"
check "the daemon's error names found ($(wc -l <"$tmp/defined"))" test "$(wc -l <"$tmp/defined")" -ge 8
comm -23 "$tmp/documented" "$tmp/defined" >"$tmp/extra"
comm -13 "$tmp/documented" "$tmp/defined" >"$tmp/missing"
check "every error name in ERRORS is one the daemon defines or sends" test ! -s "$tmp/extra"
sed 's/^/    documented, never sent: /' "$tmp/extra"
check "every error name the daemon defines or sends is in ERRORS" test ! -s "$tmp/missing"
sed 's/^/    sent, not documented: /' "$tmp/missing"

# --- configuration errors as the daemon prints them -------------------------------------------
check "vfio-tokend(8) --check-config names the form FILE:LINE: KEY=VALUE: what is wrong" \
        grep -qF "FILE:LINE: KEY=VALUE: what is wrong" <(render "$man/vfio-tokend.8")
check "vfio-tokend.conf(5) names the form FILE:LINE: KEY=VALUE: what is wrong" \
        grep -qF "FILE:LINE: KEY=VALUE: what is wrong" <(render "$man/vfio-tokend.conf.5")
if [ -x "$tokend" ]; then
        # The example of vfio-tokend.conf(5) ERRORS, made real under $tmp/etc.
        mkdir -p "$tmp/etc/vfio-tokend/conf.d"
        printf '%s\n' '[PhysicalFunction]' 'Address=0000:3b:00.0' 'NumVFs=4' '' '[PhysicalFunction]' \
                'Address=0000:5e:00.0' 'Address=0000:3b:00.0' '' 'Rotate=yes' \
                >"$tmp/etc/vfio-tokend/vfio-tokend.conf"
        printf '%s\n' '[PhysicalFunction]' 'Address=0000:3b:00.0' 'NumVFs=eight' \
                >"$tmp/etc/vfio-tokend/conf.d/50-more-vfs.conf"
        VFIO_TOKEND_SYSFS_ROOT=$tmp/no-sysfs VFIO_TOKEND_DEV_ROOT=$tmp/no-dev \
                "$tokend" --check-config --config="$tmp/etc/vfio-tokend/vfio-tokend.conf" 2>&1 >/dev/null |
                sed "s|^$tmp||" >"$tmp/printed"
        render "$man/vfio-tokend.conf.5" | sed -n '/^ERRORS/,/^[A-Z]/p' >"$tmp/errors-section"
        sed -n 's|^ *\(/etc/vfio-tokend/.*\)$|\1|p; s|^ *\(Configuration invalid: .*\)$|\1|p' \
                "$tmp/errors-section" | sed '/^Configuration invalid/q' >"$tmp/shown"
        check "vfio-tokend.conf(5) ERRORS shows what --check-config prints, line for line" \
                diff -u "$tmp/shown" "$tmp/printed"
        # Its warning example: a RotateIntervalSec=1s on line 4.
        printf '%s\n' '[Daemon]' '' '' 'RotateIntervalSec=1s' >"$tmp/etc/vfio-tokend/vfio-tokend.conf"
        rm "$tmp/etc/vfio-tokend/conf.d/50-more-vfs.conf"
        VFIO_TOKEND_SYSFS_ROOT=$tmp/no-sysfs VFIO_TOKEND_DEV_ROOT=$tmp/no-dev \
                "$tokend" --check-config --config="$tmp/etc/vfio-tokend/vfio-tokend.conf" 2>&1 >/dev/null |
                sed "s|^$tmp||" >"$tmp/printed"
        grep 'RotateIntervalSec=1s' "$tmp/errors-section" | sed 's/^ *//' >"$tmp/shown"
        check "... and the warning it shows, as the daemon prints it" diff -u "$tmp/shown" "$tmp/printed"
fi

check_finish
