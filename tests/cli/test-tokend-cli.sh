#!/bin/bash
# The vfio-tokend command line (docs/contract.md "Command line"): --version, --help, usage errors,
# and --check-config, which validates a configuration (with its conf.d drop-ins) without touching
# any device: every error names file, line, key and value, in file and line order, followed by
# the verdict, and the exit status is 1; a valid one prints the settings in force and
# "Configuration OK: N PF(s).".
set -uo pipefail

builddir=${top_builddir:-.}
tokend=$builddir/vfio-tokend
[ -x "$tokend" ] || { echo "SKIP: $tokend is not built"; exit 77; }

# shellcheck source=tests/common/check.sh
. "${top_srcdir:-$(dirname "$0")/../..}/tests/common/check.sh"

run() { # sets out, err, rc
        rc=0
        out=$("$tokend" "$@" 2>"$tmp/err") || rc=$?
        err=$(cat "$tmp/err")
}

# Devices are never touched by --check-config: point the roots at nothing.
export VFIO_TOKEND_SYSFS_ROOT=$tmp/no-sysfs VFIO_TOKEND_DEV_ROOT=$tmp/no-dev

run --version
check "--version exits 0" test "$rc" = 0
check "--version prints the name and version" grep -qE '^vfio-tokend [0-9]+\.[0-9]+' <<<"$out"

run --help
check "--help exits 0" test "$rc" = 0
check "--help names --check-config" grep -q -- "--check-config" <<<"$out"

run --no-such-option
check "an unknown option exits 1" test "$rc" = 1

run --check-config extra-argument
check "a positional argument exits 1" test "$rc" = 1
check "... saying so in one line" test "$(wc -l <<<"$err")" = 1

run --setup --check-config
check "--setup with --check-config exits 1" test "$rc" = 1

mkdir -p "$tmp/etc/conf.d"
cat >"$tmp/etc/vfio-tokend.conf" <<'CONF'
[Daemon]
RotateIntervalSec=1d          # daily
[PhysicalFunction]
Address=0000:3B:00.0
NumVFs=4
BindVFIO=yes
RotateWhenIdle=yes
CONF
cat >"$tmp/etc/conf.d/50-second.conf" <<'CONF'
[PhysicalFunction]
Address=0000:5e:00.0
RotateIntervalSec=12h
Api=cdev
CONF
run --config="$tmp/etc/vfio-tokend.conf" --check-config
check "a good configuration: exit 0" test "$rc" = 0
check "... ends with the verdict: 2 PFs, the drop-in's included" \
        test "$(tail -n 1 <<<"$out")" = "Configuration OK: 2 PF(s)."
check "... the [Daemon] settings, quotas at their defaults" \
        grep -qxF "[Daemon] RotateIntervalSec=1d MaxPendingChecksPerUser=16 MaxLeasesPerUser=max(256, VFs of all PFs)" \
        <<<"$out"
check "... addresses canonical, settings as written" \
        grep -qxF "[PhysicalFunction] Address=0000:3b:00.0 NumVFs=4 BindVFIO=yes RotateWhenIdle=yes RotateIntervalSec=1d Api=auto" \
        <<<"$out"
check "... the drop-in's PF with its own interval" \
        grep -qxF "[PhysicalFunction] Address=0000:5e:00.0 NumVFs=0 BindVFIO=no RotateWhenIdle=no RotateIntervalSec=12h Api=cdev" \
        <<<"$out"
check "... nothing on stderr" test -z "$err"

# systemd's time spans with fractions; an interval under a minute is a warning, not an error.
cat >"$tmp/etc/conf.d/55-tune.conf" <<'CONF'
[Daemon]
RotateIntervalSec=1.5h
MaxPendingChecksPerUser=4
MaxLeasesPerUser=300
[PhysicalFunction]
Address=0000:5e:00.0
RotateIntervalSec=0.5d
[PhysicalFunction]
Address=0000:3b:00.0
RotateIntervalSec=1s
CONF
run --config="$tmp/etc/vfio-tokend.conf" --check-config
check "fractions (1.5h, 0.5d) and a 1s interval: exit 0" test "$rc" = 0
check "... the verdict counts the warning" test "$(tail -n 1 <<<"$out")" = "Configuration OK: 2 PF(s), 1 warning(s)."
check "... 1.5h read as 1h 30min, the quotas as set" \
        grep -qxF "[Daemon] RotateIntervalSec=1h 30min MaxPendingChecksPerUser=4 MaxLeasesPerUser=300" <<<"$out"
check "... 0.5d read as 12h" grep -q "Address=0000:5e:00.0 .* RotateIntervalSec=12h Api=cdev$" <<<"$out"
check "... 1s kept" grep -q "Address=0000:3b:00.0 .* RotateIntervalSec=1s Api=auto$" <<<"$out"
check "... and warned about on stderr with file, line, key and value" \
        grep -qxF "$tmp/etc/conf.d/55-tune.conf:10: RotateIntervalSec=1s: shorter than a minute; every rotation makes the holders of leases acquire the token again before they open another VF" \
        <<<"$err"
check "... one line on stderr" test "$(wc -l <<<"$err")" = 1
rm "$tmp/etc/conf.d/55-tune.conf"

cat >"$tmp/etc/conf.d/60-broken.conf" <<'CONF'
[PhysicalFunction]
NumVFs=many
Frobnicate=yes
RotateIntervalSec=1.5.h
CONF
cat >"$tmp/etc/conf.d/40-broken.conf" <<'CONF'


[Daemon]
Verbose=yes
CONF
run --config="$tmp/etc/vfio-tokend.conf" --check-config
check "broken drop-ins: exit 1" test "$rc" = 1
cat >"$tmp/want" <<WANT
$tmp/etc/conf.d/40-broken.conf:4: Verbose: unknown key in [Daemon]
$tmp/etc/conf.d/60-broken.conf:1: [PhysicalFunction]: Address= is missing
$tmp/etc/conf.d/60-broken.conf:2: NumVFs=many: not a number
$tmp/etc/conf.d/60-broken.conf:3: Frobnicate: unknown key in [PhysicalFunction]
$tmp/etc/conf.d/60-broken.conf:4: RotateIntervalSec=1.5.h: not a time span (e.g. 86400, 12h, 1.5d, 1h 30min)
Configuration invalid: 5 error(s).
WANT
check "... every error as FILE:LINE: KEY=VALUE: what, in file and line order, then the verdict" \
        diff -u "$tmp/want" - <<<"$err"
check "... nothing on stdout" test -z "$out"
rm "$tmp/etc/conf.d/40-broken.conf" "$tmp/etc/conf.d/60-broken.conf"

run --config="$tmp/etc/missing.conf" --check-config
check "a missing --config file: exit 1" test "$rc" = 1
check "... naming the file" grep -qxF "$tmp/etc/missing.conf: cannot open: No such file or directory" <<<"$err"
check "... and the verdict" test "$(tail -n 1 <<<"$err")" = "Configuration invalid: 1 error(s)."

# The default paths come from configure's --sysconfdir and --localstatedir.
prefix=$(sed -n "s/^prefix = //p" "$builddir/Makefile")
sysconfdir=$(sed -n "s/^sysconfdir = //p" "$builddir/Makefile")
sysconfdir=${sysconfdir//'${prefix}'/$prefix}
localstatedir=$(sed -n "s/^localstatedir = //p" "$builddir/Makefile")
localstatedir=${localstatedir//'${prefix}'/$prefix}
run --help
check "--help names the default configuration under --sysconfdir ($sysconfdir)" \
        grep -qF "(default $sysconfdir/vfio-tokend/vfio-tokend.conf)" <<<"$out"
check "--help names the default state directory under --localstatedir ($localstatedir)" \
        grep -qF "(default \$STATE_DIRECTORY or $localstatedir/lib/vfio-tokend)" <<<"$out"

check_finish
