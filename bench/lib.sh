# shellcheck shell=bash
#
# What bench/run.sh and bench/profile.sh share, sourced after tests/integration/lib.sh: the
# programs, the kernel-model fixtures, the daemon's configuration (with the [Daemon] quotas the
# benchmark needs, where this daemon knows them), starting the daemon and checking that every
# process of the harness is on the one CPU the benchmark was pinned to.

# Variables here are for the scripts that source this file.
# shellcheck disable=SC2034

BENCH=$TK_BUILDDIR/bench/bench-grant
TOKEND=$TK_BUILDDIR/tests/vfio-tokend-model
MKFIXTURE=$TK_BUILDDIR/tests/common/mkfixture
BENCH_VF=${TK_PF%.0}.2
BENCH_NOTES=()
BENCH_DAEMON_KEYS=()

# The CPU the benchmark runs on: BENCH_CPU, or the last one this process may use.
bench_cpu() {
        [[ -z ${BENCH_CPU:-} ]] || { echo "$BENCH_CPU"; return 0; }
        awk '/^Cpus_allowed_list:/ { n = split($2, a, /[,-]/); print a[n] }' /proc/self/status
}

# The command line that runs the rest of a benchmark on one CPU (bench_cpu) at nice BENCH_NICE
# (default -20), in a session of its own: everything it starts inherits all three, and the
# harness's processes, all at the same priority, keep the CPU from other load on it, which
# would otherwise preempt a call in the middle (the run reports how busy the CPU was with other
# work). With autogroups the scheduler shares the CPU between sessions first, so the session's
# own group gets the nice value too (bench_autogroup, once inside).
bench_pinned_cmd() {
        local t
        [[ $EUID -eq 0 ]] || tk_skip "the benchmark must run as root"
        for t in taskset setsid; do
                command -v "$t" >/dev/null || tk_skip "$t not found"
        done
        pinned_cmd=(setsid --wait taskset --cpu-list "$(bench_cpu)" nice -n "${BENCH_NICE:--20}"
                "$BASH" "$0" "$@")
}

bench_autogroup() {
        [[ ! -w /proc/self/autogroup ]] || echo "${BENCH_NICE:--20}" >/proc/self/autogroup 2>/dev/null || true
}

# bench_pin "$@": re-exec the calling script so, before harness_enter_namespace.
bench_pin() {
        local -a pinned_cmd
        [[ -z ${_BENCH_CPU:-} ]] || return 0
        bench_pinned_cmd "$@"
        _BENCH_CPU=$(bench_cpu) exec "${pinned_cmd[@]}"
}

bench_init() {
        local f
        for f in "$BENCH" "$TOKEND" "$MKFIXTURE"; do
                [[ -x $f ]] || tk_die "$f is not built (make all bench/bench-grant)"
        done
}

# bench_fixture DIR MKFIXTURE-COMMAND...: a kernel-model tree as tests/integration makes it:
# /dev/vfio/vfio open to everyone, as the kernel makes it, and the model's state directory
# writable by the daemon once it has dropped to user vfio-tokend.
bench_fixture() {
        local dir=$1
        shift
        "$MKFIXTURE" "$dir" "$@" >/dev/null
        chmod 0666 "$dir/dev/vfio/vfio"
        install -d -m 0777 "$dir/dev/vfio/.kmodel"
}

# bench_want_key KEY=VALUE: use this [Daemon] key if the daemon knows it. A daemon refuses keys
# it does not know, so each is tried with --check-config first; one it refuses is left out and
# noted, and the run goes on with the daemon's default.
bench_want_key() {
        local conf=$TK_TMP/check-key.conf out
        printf '[Daemon]\n%s\n\n[PhysicalFunction]\nAddress=%s\n' "$1" "$TK_PF" >"$conf"
        if out=$("$TOKEND" --check-config --config="$conf" 2>&1); then
                BENCH_DAEMON_KEYS+=("$1")
        else
                BENCH_NOTES+=("[Daemon] $1 not used: this daemon refuses it ($(head -n 1 <<<"$out"))")
        fi
}

# bench_config FILE ADDRESS...: the daemon's configuration: the [Daemon] keys it knows, one
# [PhysicalFunction] section a PF.
bench_config() {
        local file=$1 a k
        shift
        {
                if ((${#BENCH_DAEMON_KEYS[@]} > 0)); then
                        echo "[Daemon]"
                        for k in "${BENCH_DAEMON_KEYS[@]}"; do
                                echo "$k"
                        done
                fi
                for a in "$@"; do
                        printf '\n[PhysicalFunction]\nAddress=%s\n' "$a"
                done
        } >"$file"
}

# bench_start_daemon FIXTURE CONF STATE [WRAPPER...]: the daemon as root on the fixture; it sets
# up and drops to vfio-tokend. A wrapper (valgrind, strace) goes in front of the daemon itself.
bench_start_daemon() {
        local fx=$1 conf=$2 state=$3
        shift 3
        start_daemon env VFIO_TOKEND_SYSFS_ROOT="$fx/sys" VFIO_TOKEND_DEV_ROOT="$fx/dev" \
                "$@" "$TOKEND" --config="$conf" --state-dir="$state"
}

# bench_pinned PID: every thread of PID may run on the benchmark's CPU and on no other.
bench_pinned() {
        local t list
        for t in /proc/"$1"/task/*; do
                list=$(awk '/^Cpus_allowed_list:/ { print $2 }' "$t/status" 2>/dev/null) || return 1
                [[ $list == "$_BENCH_CPU" ]] || return 1
        done
}

bench_pf_path() {
        bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s "$1" |
                awk '{ print $2 }' | tr -d '"'
}

bench_pf_ready() {
        [[ $(bus_call get-property "$TK_BUS_NAME" "$(bench_pf_path "$1")" \
                org.vfio.Tokend1.PhysicalFunction State) == 's "ready"' ]]
}

# The machine the figures come from.
bench_machine() {
        local model mem polkit
        model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
        mem=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
        polkit=$(pkaction --version 2>/dev/null | awk '{ print $NF }')
        tk_log "machine: ${model:-unknown CPU}, $(nproc --all) CPUs, $mem MiB, kernel $(uname -r)," \
                "load average $(cut -d' ' -f1-3 /proc/loadavg)"
        tk_log "harness: $(dbus-daemon --version | head -n 1), polkit ${polkit:-?}," \
                "libsystemd $(pkg-config --modversion libsystemd 2>/dev/null || echo '?'), all on CPU $_BENCH_CPU" \
                "at nice $(nice) ($(cat /proc/self/autogroup 2>/dev/null || echo 'no autogroup'))"
}
