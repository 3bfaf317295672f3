# shellcheck shell=bash
#
# The daemon under test on the kernel model, and what every test of it needs: the fixture, the
# daemon's start, a dbus-monitor of every signal, the record of the tokens a test saw and the
# leak check at its end, and helpers for calls, properties, leases and opening VFs. Sourced
# after lib.sh by tests/integration/test-{api,leases,restart}.sh and tools/demo-run.sh:
#
#     . "$(dirname "$0")/lib.sh"
#     . "$(dirname "$0")/tokend-lib.sh"
#     harness_enter_namespace "$@"
#     harness_start
#     tokend_init                    # paths under $TK_TMP; fails if a binary is not built
#     make_fixture "$FX"; cat >"$CONF" <<EOF ... EOF
#     start_monitor; start_tokend
#     ...
#     check_no_token_leaks           # the last check

# Variables here are for the scripts that source this file.
# shellcheck disable=SC2034

TOKENCTL=$TK_BUILDDIR/client/vfio-tokenctl
KOPEN=$TK_BUILDDIR/tests/model/kmodel-open
TOKEND=$TK_BUILDDIR/tests/vfio-tokend-model
MKFIXTURE=$TK_BUILDDIR/tests/common/mkfixture
UUID_RE='[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
IFACE_PF=org.vfio.Tokend1.PhysicalFunction
IFACE_LEASE=org.vfio.Tokend1.Lease
declare -A VF_PID VF_STDIN

# tokend_init: after harness_start, the paths of this test's files (under $TK_TMP), and the
# programs the tests run, copied to $TK_TMP/bin (also put first in PATH): the test users run
# them, and a build tree in a home directory (0700 on Debian 12) is out of their reach.
tokend_init() {
        local f
        [[ -n $TK_TMP ]] || tk_die "tokend_init: call harness_start first"
        FX=$TK_TMP/fixture
        CONF=$TK_TMP/tokend.conf
        STATE=$TK_TMP/state
        MONITOR_LOG=$TK_TMP/monitor.log
        SEEN=$TK_TMP/tokens-seen
        for f in "$TOKEND" "$TOKENCTL" "$KOPEN" "$MKFIXTURE"; do
                [[ -x $f ]] || tk_die "$f is not built (make all)"
        done
        install -d -m 0755 "$TK_TMP/bin"
        install -m 0755 "$TOKEND" "$TOKENCTL" "$KOPEN" "$MKFIXTURE" "$TK_TMP/bin/"
        TOKEND=$TK_TMP/bin/${TOKEND##*/}
        TOKENCTL=$TK_TMP/bin/${TOKENCTL##*/}
        KOPEN=$TK_TMP/bin/${KOPEN##*/}
        MKFIXTURE=$TK_TMP/bin/${MKFIXTURE##*/}
        export PATH=$TK_TMP/bin:$PATH
}

# wait_until CMD...: poll CMD until it succeeds, for at most TK_STARTUP_TIMEOUT seconds.
wait_until() {
        local i
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 50; i++)); do
                "$@" && return 0
                sleep 0.02
        done
        return 1
}

# make_fixture DIR: $TK_PF (VFs in IOMMU groups 11, 12) and $TK_OTHER_PF (21, 22), each with 2
# of 4 VFs enabled on vfio-pci, and /dev/vfio/vfio open to everyone as the kernel makes it. The
# model's state (<dev>/vfio/.kmodel) is the kernel's: every process that uses the model writes it.
make_fixture() {
        "$MKFIXTURE" "$1" pf "$TK_PF" vfio-pci 4 2 10 \
                pf "$TK_OTHER_PF" vfio-pci 4 2 20 >/dev/null
        chmod 0666 "$1/dev/vfio/vfio"
        install -d -m 0777 "$1/dev/vfio/.kmodel"
}

# Starts the daemon as root on $FX with $CONF and $STATE: it sets up, then drops to vfio-tokend.
# With TK_VALGRIND=1 (make check-integration-valgrind) the daemon runs under valgrind's
# memcheck, one log per process in $TK_TMP/valgrind.PID.log, checked by check_no_token_leaks.
start_tokend() {
        local -a wrap=()
        [[ -z ${TK_VALGRIND:-} ]] || wrap=(valgrind --vgdb=no --log-file="$TK_TMP/valgrind.%p.log"
                --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)
        start_daemon env VFIO_TOKEND_SYSFS_ROOT="$FX/sys" VFIO_TOKEND_DEV_ROOT="$FX/dev" \
                "${wrap[@]}" "$TOKEND" --config="$CONF" --state-dir="$STATE"
}

# Under TK_VALGRIND: stops the daemon (leaks are reported at exit) and checks that no run of it
# had a memory error or leak: each log's ERROR SUMMARY must count 0 (leaks of the kinds above
# count as errors). A run the test killed with -9 has no summary, which is right: it never
# exited. (valgrind 3.19 warns about memfd_secret, syscall 447, which it does not know: noise.)
check_valgrind_logs() {
        local f bad=0 n=0
        [[ -n ${TK_VALGRIND:-} ]] || return 0
        [[ -z $TK_DAEMON_PID ]] || stop_daemon TERM
        for f in "$TK_TMP"/valgrind.*.log; do
                [[ -e $f ]] || continue
                grep -q "ERROR SUMMARY:" "$f" || continue
                n=$((n + 1))
                if ! grep -q "ERROR SUMMARY: 0 errors" "$f"; then
                        bad=$((bad + 1))
                        sed 's/^/#   /' "$f" | head -n 80
                fi
        done
        check "valgrind saw the daemon exit ($n runs)" test "$n" -gt 0
        check_eq "valgrind: no memory error or leak in any run of the daemon" "$bad" 0
}

# Records every token-like string in $1, for the leak check at the end (a file, so that calls
# in $(...) subshells count too).
seen() {
        grep -oE "$UUID_RE" <<<"$1" >>"$SEEN" || true
}

# Every signal on the bus, for the whole test: no token may ever be in one. Returns once
# dbus-monitor is seen listening (it shows a marker signal sent after it started).
start_monitor() {
        dbus-monitor --system "type='signal'" >"$MONITOR_LOG" 2>&1 &
        tk_register_pid $!
        wait_until monitor_shows_marker || tk_die "dbus-monitor did not start listening"
}

monitor_shows_marker() {
        busctl --system emit /org/vfio/TestMarker org.vfio.TestMarker Marker >/dev/null 2>&1 || true
        grep -q 'member=Marker' "$MONITOR_LOG"
}

# The last check of every test: the tokens seen appear neither in the daemon's log of the whole
# run (all starts) nor in any signal, in text or bare hex form.
check_no_token_leaks() {
        local t hex leaked=0 n
        n=$(sort -u "$SEEN" 2>/dev/null | wc -l)
        check "the test saw tokens to look for" test "$n" -gt 0
        check "dbus-monitor captured the daemon's signals" grep -q 'path=/org/vfio/Tokend1' "$MONITOR_LOG"
        while read -r t; do
                hex=${t//-/}
                if grep -qiF -e "$t" -e "$hex" "$TK_DAEMON_LOG" "$MONITOR_LOG"; then
                        leaked=$((leaked + 1))
                fi
        done < <(sort -u "$SEEN" 2>/dev/null)
        check_eq "none of the $n tokens seen is in the daemon's log or in a signal" "$leaked" 0
        check_valgrind_logs
}

# tokenctl USER ARGS...: vfio-tokenctl as USER ("root" for root), never asking for a password.
tokenctl() {
        local user=$1
        shift
        if [[ $user == root ]]; then
                "$TOKENCTL" --no-ask-password "$@"
        else
                run_as "$user" "$TOKENCTL" --no-ask-password "$@"
        fi
}

# call USER BUSCTL-CALL-ARGS...: a method call to the daemon as USER; prints "ok" or the D-Bus
# error name the reply carried (busctl prints only the message; sd-bus's debug log has the name).
call() {
        local user=$1 out rc=0
        local -a prefix=()
        shift
        [[ $user == root ]] || prefix=(run_as "$user")
        out=$("${prefix[@]}" env SYSTEMD_LOG_LEVEL=debug busctl --system --timeout="$TK_CALL_TIMEOUT" \
                call "$TK_BUS_NAME" "$@" 2>&1) || rc=$?
        seen "$out"
        if ((rc == 0)); then
                echo ok
        else
                sed -n 's/^Got message type=error .* error-name=\([^ ]*\) .*/\1/p' <<<"$out" | tail -n 1
        fi
}

# prop PATH INTERFACE NAME: busctl's text form of a property, e.g. 's "ready"', 'ao 0'.
prop() {
        bus_call get-property "$TK_BUS_NAME" "$1" "$2" "$3" 2>&1 || true
}

pf_path() {
        bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s "$1" |
                sed -n 's/^o "\(.*\)"$/\1/p'
}

# How many leases a PF lists.
lease_count() {
        prop "$1" "$IFACE_PF" Leases | awk '{ print $2 }'
}

leases_are() {
        [[ $(lease_count "$1") == "$2" ]]
}

generation() {
        prop "$1" "$IFACE_PF" TokenGeneration | awk '{ print $2 }'
}

# hold USER DEVICE OUT: `vfio-tokenctl acquire DEVICE --hold` as USER in the background
# (TK_LAST_PID), output in OUT; returns once it has printed the token.
hold() {
        run_as_bg "$1" "$TOKENCTL" --no-ask-password acquire "$2" --hold >"$3" 2>&1
        wait_until grep -qE "$UUID_RE" "$3" || tk_die "acquire --hold $2 as $1 gave no token: $(cat "$3")"
        seen "$(cat "$3")"
}

# The model's current token of a PF (what no kernel tells anyone).
model_token() {
        "$KOPEN" --peek "$FX/dev" "$1" || true
}

# vf_open DEVICE [TOKEN]: open DEVICE as a VMM does and close it; prints OK or the errno name.
vf_open() {
        "$KOPEN" "$FX/dev" "$@" || true
}

# vf_hold NAME DEVICE [TOKEN]: the same, kept open (a running VM) until vf_release NAME; then
# `vf_result NAME` is OK or the errno name. The holder's stdin is a fifo whose only writer is a
# helper process, so no process this test starts later (a daemon) keeps it open by inheritance.
# Not in $(...): it records pids.
vf_hold() {
        local name=$1 base=$TK_TMP/vf-$1
        shift
        mkfifo "$base.in"
        "$KOPEN" "$FX/dev" "$@" --hold <"$base.in" >"$base.out" 2>&1 &
        VF_PID[$name]=$!
        tk_register_pid "${VF_PID[$name]}"
        sleep infinity >"$base.in" &
        VF_STDIN[$name]=$!
        tk_register_pid "${VF_STDIN[$name]}"
        wait_until grep -qs . "$base.out" || tk_die "kmodel-open $* said nothing"
}

vf_result() {
        head -n 1 "$TK_TMP/vf-$1.out"
}

tk_gone() {
        ! tk_alive "$1"
}

# vf_release NAME: closes the held device; prints "HELD OK" if its fd still worked until then.
vf_release() {
        tk_stop_pid "${VF_STDIN[$1]}"
        wait_until tk_gone "${VF_PID[$1]}" || tk_die "kmodel-open $1 did not exit"
        tail -n 1 "$TK_TMP/vf-$1.out"
}
