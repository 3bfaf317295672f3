#!/bin/bash
# Grant benchmark: brings up the integration harness (tests/integration/lib.sh: a private
# dbus-daemon and polkitd with the test users and rules, in a mount namespace of its own), the
# daemon on the kernel model with one PF (0000:01:00.0, 2 of 4 VFs enabled), and runs
# bench/bench-grant there as root, with alice (allowed by the test rules on that PF) as the
# polkit-authorised caller. Prints the figures; no timing is ever asserted, only outcomes (every
# call answered correctly, no lease left behind, the daemon alive and quiet in its log). Needs
# root (else exits 77). TK_KEEP=1 keeps the temporary directory (logs) afterwards.
#
# Usage: bench/run.sh [bench-grant options...], e.g. --grants=2000
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
harness_enter_namespace "$@"
harness_start

BENCH=$TK_BUILDDIR/bench/bench-grant
TOKEND=$TK_BUILDDIR/tests/vfio-tokend-model
MKFIXTURE=$TK_BUILDDIR/tests/common/mkfixture
FX=$TK_TMP/fixture
CONF=$TK_TMP/tokend.conf
STATE=$TK_TMP/state

for f in "$BENCH" "$TOKEND" "$MKFIXTURE"; do
        [[ -x $f ]] || tk_die "$f is not built (make all bench/bench-grant)"
done

# The fixture as tests/integration/test-api.sh makes it: /dev/vfio/vfio open to everyone, as the
# kernel makes it, and the model's state directory writable by the daemon once it has dropped to
# user vfio-tokend (its setup, as root, hands it the PF's group node).
"$MKFIXTURE" "$FX" pf "$TK_PF" vfio-pci 4 2 10 >/dev/null
chmod 0666 "$FX/dev/vfio/vfio"
install -d -m 0777 "$FX/dev/vfio/.kmodel"

cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF
EOF

start_daemon env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
        "$TOKEND" --config="$CONF" --state-dir="$STATE"
check_eq "the daemon runs as user vfio-tokend" \
        "$(awk '/^Uid:/ { print $2 }' "/proc/$TK_DAEMON_PID/status")" "$(id -u vfio-tokend)"
pf_path=$(bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s \
        "$TK_PF" | awk '{ print $2 }' | tr -d '"')
check_eq "PF $TK_PF is ready" \
        "$(bus_call get-property "$TK_BUS_NAME" "$pf_path" org.vfio.Tokend1.PhysicalFunction State)" 's "ready"'

# The figures. bench-grant fails if a call failed, a grant's token differed from the others or a
# lease was left behind; those are outcomes, not timings, so they count as checks.
check "every call succeeded, every lease ended" \
        "$BENCH" --daemon-pid="$TK_DAEMON_PID" --user=alice --device="${TK_PF%.0}.2" "$@"

check "the daemon came through the load alive" tk_alive "$TK_DAEMON_PID"
check "the daemon still answers" bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.freedesktop.DBus.Peer Ping
grants=$(grep -c 'grant granted' "$TK_DAEMON_LOG" || true)
warnings=$(grep -ciE 'warn|error|fail' "$TK_DAEMON_LOG" || true)
tk_log "daemon log: $grants grant lines, $warnings warning/error lines"
if ((warnings > 0)); then
        grep -iE 'warn|error|fail' "$TK_DAEMON_LOG" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/#   /' >&2
fi
check_eq "no warnings or errors in the daemon's log" "$warnings" 0
