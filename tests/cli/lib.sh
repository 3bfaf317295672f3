# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Sourced by the vfio-tokenctl tests (tests/cli/test-tokenctl-*.sh, bash): the built vfio-tokenctl, a scratch directory, and a private
# dbus-daemon with fake-tokend (the stand-in daemon) on it. The caller sets `set -euo pipefail`
# first. Sets: builddir, srcdir, tokenctl, fake, tmp; start_bus sets address; everything started
# here is stopped, and tmp removed, on exit.

builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
tokenctl=$builddir/client/vfio-tokenctl
fake=$builddir/tests/cli/fake-tokend
[[ -x $tokenctl ]] || { echo "SKIP: $tokenctl not built"; exit 77; }

tmp=$(mktemp -d "/tmp/$(basename "$0" .sh).XXXXXX")
address=
client_pids=()
client_cleanup() {
        local pid
        for pid in "${client_pids[@]}"; do
                kill "$pid" 2>/dev/null || true
        done
        rm -rf "$tmp"
}
trap client_cleanup EXIT

# Never reach a real system bus by accident.
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/no-such-socket"
unset DBUS_SESSION_BUS_ADDRESS
# Timestamps in a fixed zone.
export TZ=UTC

# sub_make ARGS...: make in the build tree, as if run there by hand.
# shellcheck source=tests/common/sub-make.sh
. "$srcdir/tests/common/sub-make.sh"

# start_bus: a dbus-daemon of our own (anyone may own any name); sets address. Returns 1 if
# there is no dbus-daemon.
start_bus() {
        command -v dbus-daemon >/dev/null || return 1
        cat >"$tmp/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
        # With --fork, dbus-daemon returns once it listens and has written address and pid.
        dbus-daemon --config-file="$tmp/bus.conf" --fork --nopidfile --nosyslog \
                --print-address=3 --print-pid=4 3>"$tmp/address" 4>"$tmp/pid"
        client_pids+=("$(head -n1 "$tmp/pid")")
        address=$(head -n1 "$tmp/address")
        [[ -n $address ]] || { echo "FAIL: dbus-daemon did not start"; exit 1; }
}

# start_fake: fake-tokend on the bus, returning once it owns org.vfio.Tokend1. Returns 1 if it
# is not built.
start_fake() {
        [[ -x $fake ]] || return 1
        "$fake" "$address" >"$tmp/fake.out" 2>&1 &
        client_pids+=("$!")
        for _ in $(seq 50); do
                grep -q '^ready$' "$tmp/fake.out" && return 0
                sleep 0.1
        done
        echo "FAIL: fake-tokend did not start: $(cat "$tmp/fake.out")"
        exit 1
}
