#!/bin/bash
# The vfio-tokend command line (DESIGN.md "Command line and configuration"): --version, --help,
# usage errors, and --check-config, which validates a configuration (with its conf.d drop-ins)
# without touching any device: every error names file, line and key, and the exit status is 1.
set -uo pipefail

builddir=${top_builddir:-.}
tokend=$builddir/vfio-tokend
[ -x "$tokend" ] || { echo "SKIP: $tokend is not built"; exit 77; }

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # DESCRIPTION CMD...
        local desc=$1
        shift
        if "$@"; then
                passed=$((passed + 1))
                echo "ok - $desc"
        else
                failed=$((failed + 1))
                echo "not ok - $desc"
        fi
}

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
CONF
run --config="$tmp/etc/vfio-tokend.conf" --check-config
check "a good configuration: exit 0" test "$rc" = 0
check "... 2 PFs, the drop-in's included" grep -q "Configuration OK: 2 PF(s)" <<<"$out"
check "... addresses canonical, settings as written" \
        grep -q "0000:3b:00.0 NumVFs=4 BindVFIO=yes RotateWhenIdle=yes RotateIntervalSec=86400" <<<"$out"
check "... the drop-in's PF with its own interval" \
        grep -q "0000:5e:00.0 NumVFs=0 BindVFIO=no RotateWhenIdle=no RotateIntervalSec=43200" <<<"$out"

cat >"$tmp/etc/conf.d/60-broken.conf" <<'CONF'
[PhysicalFunction]
Address=0000:5f:00.0
NumVFs=many
Frobnicate=yes
CONF
run --config="$tmp/etc/vfio-tokend.conf" --check-config
check "a broken drop-in: exit 1" test "$rc" = 1
check "... the error names file, line and key (NumVFs)" \
        grep -qF "$tmp/etc/conf.d/60-broken.conf:3: NumVFs=many" <<<"$err"
check "... and every other error (Frobnicate, line 4)" grep -qF "$tmp/etc/conf.d/60-broken.conf:4: Frobnicate" <<<"$err"
check "... and says it refuses" grep -q "Configuration is invalid" <<<"$err"
check "... nothing on stdout" test -z "$out"

run --config="$tmp/etc/missing.conf" --check-config
check "a missing --config file: exit 1" test "$rc" = 1
check "... naming the file" grep -qF "$tmp/etc/missing.conf" <<<"$err"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
