#!/bin/bash
# Run the adversarial suite (issue 9): run.sh [tests/adversarial/test-*.sh ...]
#
# With no arguments, every test-*.sh beside this script, through the integration tests' runner
# (tests/integration/run.sh: a mount namespace per test, a time limit, anything left running is
# killed and fails the test, "N passed, N failed" at the end, 77 when not root). Each test brings
# up the integration harness itself (a private dbus-daemon and polkitd, the daemon on the kernel
# model) and runs bus-flood (tests/adversarial/bus-flood.c) as the test users against it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if (($# == 0)); then
        set -- "$here"/test-*.sh
fi
exec bash "$here/../integration/run.sh" "$@"
