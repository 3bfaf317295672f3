#!/bin/bash
# What a grant costs the daemon (make bench-profile). Pinned to one CPU like bench/run.sh, with
# the daemon on the kernel model with one PF in the integration harness, it runs bench-grant
# --loop (one call at a time from an idle harness, each call's start written to a trace file:
# as root on one connection N Pings, then N AcquireToken each followed by its Release; then N
# polkit checks about alice's connection, and N AcquireToken and Release as alice) under:
#   1. dbus-monitor --profile: the bus messages each call makes (calls, replies, signals);
#   2. strace -f -ttt on the daemon: its syscalls per call, and one grant's in order;
#   3. strace -c -f on the daemon: the summary over a whole loop;
#   4. perf record -e cpu-clock on the CPU (when perf can sample here): where the CPU goes, by
#      process and object, and the daemon's hottest functions;
#   5. the daemon restarted under callgrind, counting inside sd_bus_process() only (every bus
#      message it handles), the Pings and the grants apart: instructions per call in the
#      daemon's code, libsystemd and libc, and the handlers' inclusive share.
# The tracers slow the daemon down; only counts come from them, timings come from bench/run.sh.
# Needs root; strace, perf, valgrind and python3 for their parts (a missing one is skipped).
# TK_KEEP=1 keeps the logs.
#
# Usage: bench/profile.sh [N]   (default 200)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../tests/integration/lib.sh
. "$(dirname "$0")/../tests/integration/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
bench_pin "$@"
bench_autogroup
harness_enter_namespace "$@"
harness_start
bench_init
bench_machine

N=${1:-200}
REPORT=$(dirname "$0")/profile-report.py
OUT=$TK_TMP/profile
# The harness's processes as perf names them (comm, at most 15 characters).
PERF_COMMS=dbus-daemon,polkitd,vfio-tokend-mod,bench-grant
install -d -m 0777 "$OUT"
have() { command -v "$1" >/dev/null; }

start() {
        bench_start_daemon "$TK_TMP/fixture" "$TK_TMP/tokend.conf" "$TK_TMP/state" "$@"
        check "the daemon ($*) runs on CPU $_BENCH_CPU only" bench_pinned "$TK_DAEMON_PID"
        wait_ready
}

wait_ready() {
        local i
        for ((i = 0; i < 600; i++)); do
                bench_pf_ready "$TK_PF" 2>/dev/null && return 0
                sleep 0.1
        done
        tk_die "PF $TK_PF did not get ready"
}

# loop NAME [bench-grant options]: the loop, its trace in $OUT/NAME.trace.
loop() {
        local name=$1
        shift
        check "$name: every call of the loop answered" \
                "$BENCH" --device="$BENCH_VF" --user=alice --loop="$N" --trace="$OUT/$name.trace" "$@"
}

section() {
        printf '\n==== %s\n' "$*"
}

bench_fixture "$TK_TMP/fixture" pf "$TK_PF" vfio-pci 4 2 10
bench_config "$TK_TMP/tokend.conf" "$TK_PF"
start
daemon_name=$(bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s \
        "$TK_BUS_NAME" | awk '{ print $2 }' | tr -d '"')
polkit_name=$(bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s \
        org.freedesktop.PolicyKit1 | awk '{ print $2 }' | tr -d '"')
loop warmup

# 1. Bus messages.
dbus-monitor --system --profile >"$OUT/monitor.log" 2>&1 &
monitor=$!
tk_register_pid "$monitor"
sleep 1
loop monitor
sleep 0.5
tk_stop_pid "$monitor"
if have python3; then
        section "bus messages ($N calls of each kind)"
        python3 "$REPORT" monitor "$OUT/monitor.trace" "$OUT/monitor.log" "$daemon_name" "$polkit_name"
fi

# 2. and 3. Syscalls.
if have strace; then
        strace -f -ttt -s 48 -o "$OUT/strace.log" -p "$TK_DAEMON_PID" 2>"$OUT/strace.err" &
        tracer=$!
        sleep 1
        loop strace
        tk_stop_pid "$tracer" INT
        if have python3; then
                section "the daemon's syscalls ($N calls of each kind)"
                python3 "$REPORT" strace "$OUT/strace.trace" "$OUT/strace.log"
        fi
        strace -c -f -p "$TK_DAEMON_PID" -o "$OUT/strace-c.log" 2>/dev/null &
        tracer=$!
        sleep 1
        loop strace-c
        tk_stop_pid "$tracer" INT
        section "strace -c -f of the daemon over the whole loop ($N calls of each kind)"
        cat "$OUT/strace-c.log"
fi

# 4. CPU samples of everything on the CPU.
if have perf && perf record -e cpu-clock -o "$OUT/perf-probe.data" -- true >/dev/null 2>&1; then
        perf record -e cpu-clock -F 20000 -g -C "$_BENCH_CPU" -o "$OUT/perf.data" >"$OUT/perf.err" 2>&1 &
        tracer=$!
        sleep 1
        loop perf
        tk_stop_pid "$tracer" INT
        section "perf: where the harness's CPU time went during the loop, by process and object"
        perf report -i "$OUT/perf.data" --no-children --comms "$PERF_COMMS" --percentage relative \
                --sort comm,dso --stdio -g none 2>/dev/null | grep -v -e '^#' -e '^$' | head -n 25 || true
        section "perf: the daemon's hottest functions"
        perf report -i "$OUT/perf.data" --no-children --comms vfio-tokend-mod --percentage relative \
                --sort dso,sym --stdio -g none 2>/dev/null | grep -v -e '^#' -e '^$' | head -n 30 || true
fi

# 5. Instructions, under callgrind. callgrind_control cannot reach a valgrind that has dropped
# privileges, so a dump is triggered by a call instead: callgrind dumps (and zeroes) its
# counters whenever the daemon enters the handler of GetPhysicalFunction, which the hook calls
# before the first phase and after each: the last four dumps are the phases'. (The dump at exit
# would be lost: the daemon can no longer write the file by then.)
if have valgrind && have callgrind_annotate && have python3; then
        stop_daemon TERM
        start valgrind --tool=callgrind --toggle-collect=sd_bus_process --dump-before=method_get_pf \
                --callgrind-out-file="$OUT/callgrind.out"
        cat >"$OUT/hook.sh" <<EOF
#!/bin/bash
exec busctl --system call $TK_BUS_NAME /org/vfio/Tokend1 org.vfio.Tokend1.Manager \\
        GetPhysicalFunction s $BENCH_VF >/dev/null
EOF
        chmod +x "$OUT/hook.sh"
        loop callgrind --hook="$OUT/hook.sh"
        stop_daemon TERM
        dumps=$(printf '%s\n' "$OUT"/callgrind.out.* | sort -V | tail -n 4)
        for phase in ping grant check usergrant; do
                f=$(head -n 1 <<<"$dumps")
                dumps=$(tail -n +2 <<<"$dumps")
                [[ $phase != check ]] || continue
                [[ -n $f ]] || { tk_log "no callgrind dump for $phase"; continue; }
                callgrind_annotate --inclusive=no --threshold=100 "$f" >"$OUT/$phase.self" 2>/dev/null
                callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$OUT/$phase.incl" 2>/dev/null
                case $phase in
                ping) what="Ping" ;;
                grant) what="AcquireToken and its Release as root" ;;
                *) what="AcquireToken and its Release as alice" ;;
                esac
                section "callgrind: the daemon inside sd_bus_process(), per $what ($N)"
                python3 "$REPORT" callgrind "$OUT/$phase.self" "$OUT/$phase.incl" "$N"
        done
fi
