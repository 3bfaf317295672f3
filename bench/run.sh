#!/bin/bash
# Grant benchmark: brings up the integration harness (tests/integration/lib.sh: a private
# dbus-daemon and polkitd with the test users and rules, in a mount namespace of its own), the
# daemon on the kernel model with one PF (0000:01:00.0, 2 of 4 VFs enabled), and runs
# bench/bench-grant there as root, with alice (allowed by the test rules on that PF) as the
# polkit-authorised caller. Prints figures only; no timing is ever asserted. Needs root (else
# exits 77). TK_KEEP=1 keeps the temporary directory (logs) afterwards.
#
# Usage: bench/run.sh [bench-grant options...], e.g. --grants=2000
set -euo pipefail
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
[[ $(awk '/^Uid:/ { print $2 }' "/proc/$TK_DAEMON_PID/status") == "$(id -u vfio-tokend)" ]] ||
        tk_die "the daemon did not drop to user vfio-tokend"
pf_path=$(bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s \
        "$TK_PF" | awk '{ print $2 }' | tr -d '"')
[[ $(bus_call get-property "$TK_BUS_NAME" "$pf_path" org.vfio.Tokend1.PhysicalFunction State) == 's "ready"' ]] ||
        tk_die "PF $TK_PF is not ready in the daemon"

rc=0
"$BENCH" --daemon-pid="$TK_DAEMON_PID" --user=alice --device="${TK_PF%.0}.2" "$@" || rc=$?

# The daemon must have come through the load alive and still serving.
if ! tk_alive "$TK_DAEMON_PID"; then
        echo "bench: the daemon died during the run" >&2
        rc=1
fi
grants=$(grep -c 'grant granted' "$TK_DAEMON_LOG" || true)
warnings=$(grep -ciE 'warn|error|fail' "$TK_DAEMON_LOG" || true)
echo "daemon log: $grants grant lines, $warnings warning/error lines"
if ((warnings > 0)); then
        grep -iE 'warn|error|fail' "$TK_DAEMON_LOG" | sort | uniq -c | sort -rn | head -n 5 | sed 's/^/#   /'
fi
exit "$rc"
