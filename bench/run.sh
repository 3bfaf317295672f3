#!/bin/bash
# Grant benchmark (make bench). Pins itself, and so everything it starts, to one CPU (BENCH_CPU,
# default the last one it may use) at nice -20 (BENCH_NICE) in a session of its own: dbus-daemon,
# polkitd, the daemon and the client then share that CPU, ahead of other load on it, and a call's
# latency is the CPU time of everything on its path. Inside, it brings up the integration harness
# (tests/integration/lib.sh: a private bus and polkitd with the test users and rules, in a mount
# namespace of its own) and runs bench/bench-grant against the daemon on the kernel model, twice:
#   1. one PF (0000:01:00.0, 2 of 4 VFs enabled): latency one call at a time and throughput with
#      64 in flight, as root and as alice (allowed by the test rules on that PF);
#   2. 8 PFs of 64 VFs each, 1000 leases held by root over 20 connections of 50: the daemon's RSS.
# The daemon gets [Daemon] MaxPendingChecksPerUser=128 and MaxLeasesPerUser=2000 where it knows
# them (64 checks in flight for one user, 1000 leases for root); where it does not, the run says
# so and goes on with its defaults.
#
# Timings are never asserted, only outcomes: every call answered correctly, the same token from
# every grant, no lease left behind, every process on the one CPU, the daemon alive, answering
# and quiet in its log. The last four lines of the output are the figures of issue 9:
#     ratio root-grant/ping R            median AcquireToken as root / median Ping
#     ratio polkit-grant/(check+ping) R  median AcquireToken as alice / (median check + Ping)
#     ratio grants-at-64/checks-at-64 R  alice's grants/s with 64 clients / polkit's checks/s with
#                                        64 in flight, per second of the harness's CPU time (the
#                                        wall-clock rate when the harness has the CPU to itself;
#                                        unlike that, not skewed by other load)
#     rss-kib 8pf-64vf-1000leases N      the daemon's VmRSS in phase 2
# Needs root (else exits 77). TK_KEEP=1 keeps the temporary directory (logs) afterwards.
#
# Usage: bench/run.sh [bench-grant options for phase 1...], e.g. --samples=2000
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Outside: pin, run the rest, then print the figures last, after the harness has cleaned up.
if [[ -z ${_BENCH_CPU:-} ]]; then
        bench_pinned_cmd "$@"
        figures=$(mktemp /tmp/vfio-tokend-bench.XXXXXX)
        trap 'rm -f "$figures"' EXIT
        rc=0
        _BENCH_CPU=$(bench_cpu) BENCH_FIGURES=$figures "${pinned_cmd[@]}" || rc=$?
        if (($(wc -l <"$figures") != 4)); then
                echo "ERROR: the run gave $(wc -l <"$figures") of the 4 figures" >&2
                ((rc != 0)) || rc=1
        fi
        cat "$figures"
        exit "$rc"
fi

bench_autogroup
harness_enter_namespace "$@"
harness_start
bench_init
bench_machine

check "dbus-daemon runs on CPU $_BENCH_CPU only" bench_pinned "$TK_BUS_PID"
check "polkitd runs on CPU $_BENCH_CPU only" bench_pinned "$TK_POLKITD_PID"
bench_want_key MaxPendingChecksPerUser=128
bench_want_key MaxLeasesPerUser=2000
for note in "${BENCH_NOTES[@]}"; do
        tk_log "note: $note"
done

# daemon_done PHASE LOG-LINE: after a phase, the daemon is alive, answers and logged no
# warning or error from LOG-LINE on; then it is stopped and must exit cleanly.
daemon_done() {
        local phase=$1 from=$2 warnings
        check "$phase: the daemon came through alive" tk_alive "$TK_DAEMON_PID"
        check "$phase: the daemon still answers" \
                bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.freedesktop.DBus.Peer Ping
        warnings=$(tail -n +"$from" "$TK_DAEMON_LOG" | grep -ciE 'warn|error|fail' || true)
        if ((warnings > 0)); then
                tail -n +"$from" "$TK_DAEMON_LOG" | grep -iE 'warn|error|fail' | sort | uniq -c | sort -rn |
                        head -n 5 | sed 's/^/#   /' >&2
        fi
        check_eq "$phase: no warnings or errors in the daemon's log" "$warnings" 0
        stop_daemon TERM
        check_eq "$phase: the daemon exits cleanly" "$TK_DAEMON_STATUS" 0
}

# --- 1. One PF: latency and throughput.
bench_fixture "$TK_TMP/fixture" pf "$TK_PF" vfio-pci 4 2 10
bench_config "$TK_TMP/tokend.conf" "$TK_PF"
bench_start_daemon "$TK_TMP/fixture" "$TK_TMP/tokend.conf" "$TK_TMP/state"
check "phase 1: the daemon runs on CPU $_BENCH_CPU only" bench_pinned "$TK_DAEMON_PID"
check_eq "phase 1: the daemon runs as user vfio-tokend" \
        "$(awk '/^Uid:/ { print $2 }' "/proc/$TK_DAEMON_PID/status")" "$(id -u vfio-tokend)"
check "phase 1: PF $TK_PF is ready" bench_pf_ready "$TK_PF"
check "phase 1: every call answered correctly, the same token from every grant, every lease ended" \
        "$BENCH" --daemon-pid="$TK_DAEMON_PID" --bus-pid="$TK_BUS_PID" --polkitd-pid="$TK_POLKITD_PID" \
        --user=alice --device="$BENCH_VF" --figures="$BENCH_FIGURES" "$@"
tk_log "phase 1: the daemon logged $(grep -c 'grant granted' "$TK_DAEMON_LOG" || true) grants"
daemon_done "phase 1" 1

# --- 2. Eight PFs of 64 VFs, 1000 leases held: memory.
from=$(($(wc -l <"$TK_DAEMON_LOG") + 1))
pfs=() fixture=()
for k in 1 2 3 4 5 6 7 8; do
        pfs+=("0000:0$k:00.0")
        fixture+=(pf "0000:0$k:00.0" vfio-pci 64 64 $((k * 100)))
done
bench_fixture "$TK_TMP/fixture8" "${fixture[@]}"
bench_config "$TK_TMP/tokend8.conf" "${pfs[@]}"
bench_start_daemon "$TK_TMP/fixture8" "$TK_TMP/tokend8.conf" "$TK_TMP/state8"
check "phase 2: the daemon runs on CPU $_BENCH_CPU only" bench_pinned "$TK_DAEMON_PID"
check "phase 2: 1000 leases held on 8 PFs of 64 VFs, then every one released" \
        "$BENCH" --daemon-pid="$TK_DAEMON_PID" --hold=20x50 --figures="$BENCH_FIGURES"
daemon_done "phase 2" "$from"
for note in "${BENCH_NOTES[@]}"; do
        tk_log "note: $note"
done
