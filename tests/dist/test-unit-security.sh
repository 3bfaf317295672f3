#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The unit's sandbox must keep `systemd-analyze security --offline=yes` exposure at or below
# MAX_EXPOSURE (issue 5). Prints the figure and every item still counted as exposed. Also runs
# `systemd-analyze verify` on a copy whose commands point at /bin/true (verify insists that the
# installed binary exists, which it does not before `make install`).
# Exit 77 (skip) without systemd-analyze.

set -u

MAX_EXPOSURE=${MAX_EXPOSURE:-0.8}
unit=${1:-${top_builddir:-.}/systemd/vfio-tokend.service}

if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "SKIP: systemd-analyze not found"
        exit 77
fi
if [ ! -r "$unit" ]; then
        echo "FAIL: $unit not found (run make first)"
        exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# The unit is analysed under its installed name (the name shows in the output; a unit file's
# name must end in .service for it to be loaded as one).
cp "$unit" "$tmp/vfio-tokend.service" || exit 1

# No pager, no colour, ASCII markers ("+" protected, "-" exposed): the output is parsed below.
export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 LC_ALL=C

out=$(cd "$tmp" && systemd-analyze security --offline=yes ./vfio-tokend.service 2>&1)
rc=$?
echo "items counted as exposed:"
printf '%s\n' "$out" | grep -E '^- ' || true
if [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        echo "FAIL: systemd-analyze security exited with $rc"
        exit 1
fi

exposure=$(printf '%s\n' "$out" | sed -n 's/^.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*$/\1/p' | tail -n 1)
if [ -z "$exposure" ]; then
        printf '%s\n' "$out"
        echo "FAIL: could not find the overall exposure level in the output"
        exit 1
fi
echo "exposure: $exposure (must be <= $MAX_EXPOSURE)"

if ! awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e + 0 <= m + 0) }'; then
        echo "FAIL: exposure $exposure is above $MAX_EXPOSURE"
        exit 1
fi

# verify: syntax, unknown keys, dependencies. Commands replaced by /bin/true, which exists.
mkdir "$tmp/v" || exit 1
sed -e 's|^\(Exec[A-Za-z]*=[-+!@:]*\)/[^ ]*|\1/bin/true|' "$unit" >"$tmp/v/vfio-tokend.service" || exit 1
# A dependency this host lacks (say dbus.socket without dbus installed) is the host's business,
# not the unit's: noted, not failed.
vout=$(cd "$tmp/v" && systemd-analyze verify --man=no ./vfio-tokend.service 2>&1)
vrc=$?
missing=$(printf '%s\n' "$vout" | grep -E 'Unit [^ ]+ not found' || true)
# Complaints about the host's own unit files (say a newer libvirt's Type=notify-reload on an older
# systemd) are the host's business too: only what concerns this unit counts.
hosts=$(printf '%s\n' "$vout" | grep -E '^/(lib|usr|etc|run)/systemd/' || true)
other=$(printf '%s\n' "$vout" | grep -v -E 'Unit [^ ]+ not found' | grep -v -E '^/(lib|usr|etc|run)/systemd/' |
        grep -v '^$' || true)
if [ -n "$other" ] || { [ $vrc -ne 0 ] && [ -z "$missing" ]; }; then
        printf '%s\n' "$vout"
        echo "FAIL: systemd-analyze verify complained (exit $vrc)"
        exit 1
fi
if [ -n "$hosts" ]; then
        printf 'note (host units): %s\n' "$hosts"
fi
if [ -n "$missing" ]; then
        printf 'note: %s\n' "$missing"
        echo "verify: clean but for units this host does not have"
else
        echo "verify: clean"
fi

# The udev-started setup unit (a template): verified for one instance, as udev would start it.
setup_unit=${unit%/*}/vfio-tokend-setup@.service
if [ -r "$setup_unit" ]; then
        sed -e 's|^\(Exec[A-Za-z]*=[-+!@:]*\)/[^ ]*|\1/bin/true|' "$setup_unit" \
                >"$tmp/v/vfio-tokend-setup@pci.service" || exit 1
        sout=$(cd "$tmp/v" && systemd-analyze verify --man=no "./vfio-tokend-setup@pci.service" 2>&1)
        sother=$(printf '%s\n' "$sout" | grep -v -E 'Unit [^ ]+ not found' | grep -v -E '^/(lib|usr|etc|run)/systemd/' |
                grep -v '^$' || true)
        if [ -n "$sother" ]; then
                printf '%s\n' "$sout"
                echo "FAIL: systemd-analyze verify complained about vfio-tokend-setup@.service"
                exit 1
        fi
        echo "verify (vfio-tokend-setup@.service): clean"
fi

echo "PASS"
exit 0
