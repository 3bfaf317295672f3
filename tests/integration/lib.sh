# shellcheck shell=bash
#
# Integration-test harness: a real dbus-daemon and a real polkitd on a private system bus,
# inside a private mount namespace, with test users and groups, the project's bus policy
# and polkit actions, and the test polkit rules. Sourced by tests/integration/test-*.sh:
#
#     #!/bin/bash
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     harness_enter_namespace "$@"   # re-execs the script in its own mount namespace
#     harness_start                  # bus, polkitd, users; cleanup is trapped on EXIT
#     check "alice is allowed" ...   # assertions; the script fails if any failed
#
# Needs root and dbus-daemon, polkitd (polkit 122 tested), busctl, dbus-monitor, setpriv and
# unshare; without them a test exits 77 (skipped). Nothing touches the host outside the
# namespace except the temporary directory, which is removed on exit (TK_KEEP=1 keeps it).
#
# Facts this relies on (polkit 122, dbus 1.14): polkitd's rules and actions paths are compiled
# in, hence the bind mounts; it takes a subject's groups from NSS (getgrouplist), and
# dbus-daemon refuses uids without a passwd entry, hence the private /etc/passwd and
# /etc/group; a CheckAuthorization can stall for 15 s (fixed in 123), hence call timeouts of
# TK_CALL_TIMEOUT (60 s) and no tighter ones.

# Variables here are for the scripts that source this file.
# shellcheck disable=SC2034

TK_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TK_SRCDIR=${top_srcdir:-$(cd "$TK_LIBDIR/../.." && pwd)}
TK_BUILDDIR=${top_builddir:-$TK_SRCDIR}
TK_STARTUP_TIMEOUT=${TK_STARTUP_TIMEOUT:-30}   # seconds, for daemons to appear on the bus
TK_CALL_TIMEOUT=${TK_CALL_TIMEOUT:-60}         # seconds, any bus call (> polkit's 15 s stall)

# Fixture PF of the tests; the test rules grant on it (rules/50-test.rules).
TK_PF=0000:01:00.0
TK_OTHER_PF=0000:02:00.0
TK_BUS_NAME=org.vfio.Tokend1

TK_TMP=
TK_FAILURES=0
TK_CHECKS=0
TK_MOUNTS=()
TK_DAEMON_PID=
TK_DAEMON_STATUS=
TK_LAST_PID=

tk_log() {
        printf '# %s\n' "$*" >&2
}

tk_die() {
        printf 'ERROR: %s\n' "$*" >&2
        exit 1
}

tk_skip() {
        printf 'SKIP: %s\n' "$*" >&2
        exit 77
}

# ---------------------------------------------------------------------------
# Namespace and setup.

# Re-exec the calling script in a fresh private mount namespace, unless it already runs in
# one made for this very process: unshare execs in place, so the pid survives and marks it.
harness_enter_namespace() {
        [[ $EUID -eq 0 ]] || tk_skip "integration tests must run as root"
        command -v unshare >/dev/null || tk_skip "unshare not found"
        if [[ ${_TK_NS_PID:-} != "$$" ]]; then
                export _TK_NS_PID=$$
                exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
        fi
}

tk_find_polkitd() {
        local p
        for p in "${TK_POLKITD:-}" /usr/lib/polkit-1/polkitd /usr/libexec/polkitd \
                 /usr/libexec/polkit-1/polkitd /usr/lib/polkit/polkitd; do
                [[ -n $p && -x $p ]] && { echo "$p"; return 0; }
        done
        return 1
}

tk_require_tools() {
        local t
        for t in dbus-daemon busctl dbus-monitor setpriv mount umount getent; do
                command -v "$t" >/dev/null || tk_skip "$t not found"
        done
        TK_POLKITD=$(tk_find_polkitd) || tk_skip "polkitd not found"
        [[ -d /usr/share/polkit-1/actions ]] || tk_skip "/usr/share/polkit-1/actions missing"
}

# Start everything: users, bus, polkitd. Exports DBUS_SYSTEM_BUS_ADDRESS and TK_TMP.
harness_start() {
        [[ ${_TK_NS_PID:-} == "$$" ]] || tk_die "call harness_enter_namespace \"\$@\" first"
        tk_require_tools

        TK_TMP=$(mktemp -d /tmp/vfio-tokend-it.XXXXXX)
        # Users' processes read files here (fixtures, the socket): world-traversable.
        chmod 0755 "$TK_TMP"
        export TK_TMP
        trap tk_cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        : >"$TK_TMP/pids"

        # Let run.sh find anything this test leaves running (it kills and reports it).
        if [[ -n ${TK_RUN_STATE:-} ]]; then
                readlink /proc/self/ns/mnt >>"$TK_RUN_STATE/ns" || true
        fi

        unset DBUS_SESSION_BUS_ADDRESS DBUS_STARTER_ADDRESS DBUS_STARTER_BUS_TYPE

        tk_setup_users
        tk_setup_polkit_dirs
        tk_start_bus
        tk_start_polkitd
}

tk_bind() {
        mount --bind "$1" "$2"
        TK_MOUNTS+=("$2")
}

# Lowest id >= $1 that is neither a uid in passwd file $2 nor a gid in group file $3.
tk_free_id() {
        awk -F: -v id="$1" '{ used[$3] = 1 } END { while (id in used) id++; print id }' "$2" "$3"
}

# Add user $1 (with its own primary group) to the private copies, replacing any host entry
# of the same name so the test's view never depends on the host's users.
tk_add_user() {
        local name=$1 id
        local passwd=$TK_TMP/etc/passwd group=$TK_TMP/etc/group

        sed -i "/^$name:/d" "$passwd"
        sed -i "/^$name:/d" "$group"
        id=$(tk_free_id "${TK_NEXT_ID:-59000}" "$passwd" "$group")
        TK_NEXT_ID=$((id + 1))
        echo "$name:x:$id:$id:vfio-tokend test:/nonexistent:/usr/sbin/nologin" >>"$passwd"
        echo "$name:x:$id:" >>"$group"
}

tk_add_group() {
        local name=$1 members=$2 id
        local passwd=$TK_TMP/etc/passwd group=$TK_TMP/etc/group

        sed -i "/^$name:/d" "$group"
        id=$(tk_free_id "${TK_NEXT_ID:-59000}" "$passwd" "$group")
        TK_NEXT_ID=$((id + 1))
        echo "$name:x:$id:$members" >>"$group"
}

tk_setup_users() {
        mkdir -p "$TK_TMP/etc"
        install -m 0644 /etc/passwd "$TK_TMP/etc/passwd"
        install -m 0644 /etc/group "$TK_TMP/etc/group"

        tk_add_user vfio-tokend
        tk_add_user alice
        tk_add_user bob
        tk_add_user carol
        tk_add_group kvm-test alice
        tk_add_group other-test carol

        tk_bind "$TK_TMP/etc/passwd" /etc/passwd
        tk_bind "$TK_TMP/etc/group" /etc/group
}

tk_setup_polkit_dirs() {
        local d=$TK_TMP/polkit

        install -d -m 0755 "$d" "$d/actions" "$d/rules.d" "$d/etc-rules.d"
        install -m 0644 "$TK_SRCDIR/polkit/org.vfio.tokend.policy" "$d/actions/"
        install -m 0644 "$TK_LIBDIR"/rules/*.rules "$d/rules.d/"

        tk_bind "$d/actions" /usr/share/polkit-1/actions
        if [[ -d /usr/share/polkit-1/rules.d ]]; then
                tk_bind "$d/rules.d" /usr/share/polkit-1/rules.d
        fi
        # Host admin rules must not leak into the test; keep that directory empty.
        if [[ -d /etc/polkit-1/rules.d ]]; then
                tk_bind "$d/etc-rules.d" /etc/polkit-1/rules.d
        fi
}

# Print the distribution's bus policy for polkitd, wherever it lives.
tk_polkit_bus_policy() {
        local p
        for p in /usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf \
                 /etc/dbus-1/system.d/org.freedesktop.PolicyKit1.conf; do
                [[ -r $p ]] && { echo "$p"; return 0; }
        done
        return 1
}

# The bus config is the distribution's system.conf with its own socket, no fork, pid file,
# syslog or service activation, and only our policy directory (the project's policy and
# polkit's), so the host's /etc/dbus-1 never changes what is tested.
tk_write_bus_config() {
        local src=/usr/share/dbus-1/system.conf conf=$TK_TMP/bus/system.conf
        local sock=$TK_TMP/bus/system_bus_socket pk

        [[ -r $src ]] || tk_skip "$src not found"
        pk=$(tk_polkit_bus_policy) || tk_skip "polkit's bus policy (org.freedesktop.PolicyKit1.conf) not found"

        install -d -m 0755 "$TK_TMP/bus" "$TK_TMP/bus/system.d"
        install -m 0644 "$TK_SRCDIR/dbus/org.vfio.Tokend1.conf" "$TK_TMP/bus/system.d/"
        install -m 0644 "$pk" "$TK_TMP/bus/system.d/"

        sed -e "s|<listen>[^<]*</listen>|<listen>unix:path=$sock</listen>|" \
            -e '/<fork\/>/d' \
            -e '/<syslog\/>/d' \
            -e '/<pidfile>.*<\/pidfile>/d' \
            -e '/<standard_system_servicedirs\/>/d' \
            -e '/<servicehelper>.*<\/servicehelper>/d' \
            -e '/<include[^>]*>\/etc\/dbus-1\/[^<]*<\/include>/d' \
            -e '/<includedir>\/etc\/dbus-1\/system.d<\/includedir>/d' \
            -e "s|<includedir>system.d</includedir>|<includedir>$TK_TMP/bus/system.d</includedir>|" \
            "$src" >"$conf"
        # A system.conf of another shape would silently give a different bus: insist.
        grep -q "<listen>unix:path=$sock</listen>" "$conf" || tk_die "could not set <listen> in $conf"
        grep -q "<includedir>$TK_TMP/bus/system.d</includedir>" "$conf" ||
                tk_die "could not set <includedir> in $conf"
        if grep -q '<fork/>\|<servicehelper>\|/etc/dbus-1/' "$conf"; then
                tk_die "unexpected leftovers in $conf"
        fi
        # dbus-daemon drops to messagebus if that user exists; the socket is created first.
        if ! getent passwd messagebus >/dev/null; then
                sed -i '/<user>.*<\/user>/d' "$conf"
        fi
}

tk_register_pid() {
        echo "$1" >>"$TK_TMP/pids"
}

tk_start_bus() {
        local fifo=$TK_TMP/bus/address addr=

        tk_write_bus_config
        mkfifo "$fifo"
        dbus-daemon --config-file="$TK_TMP/bus/system.conf" --nofork --nopidfile --nosyslog \
                --print-address=3 3>"$fifo" >>"$TK_TMP/dbus-daemon.log" 2>&1 &
        TK_BUS_PID=$!
        tk_register_pid "$TK_BUS_PID"
        # Opening the fifo waits for the daemon's side; EOF means it died before printing.
        read -r -t "$TK_STARTUP_TIMEOUT" addr <"$fifo" || true
        [[ -n $addr ]] || { tk_dump_log "$TK_TMP/dbus-daemon.log"; tk_die "dbus-daemon did not start"; }
        export DBUS_SYSTEM_BUS_ADDRESS=$addr
        tk_log "bus: $DBUS_SYSTEM_BUS_ADDRESS (pid $TK_BUS_PID)"
}

tk_start_polkitd() {
        local args=(--no-debug)
        [[ -n ${TK_POLKIT_DEBUG:-} ]] && args=()

        "$TK_POLKITD" "${args[@]}" >>"$TK_TMP/polkitd.log" 2>&1 &
        TK_POLKITD_PID=$!
        tk_register_pid "$TK_POLKITD_PID"
        if ! wait_bus_name org.freedesktop.PolicyKit1 "$TK_POLKITD_PID"; then
                tk_dump_log "$TK_TMP/polkitd.log"
                tk_die "polkitd did not appear on the bus"
        fi
        tk_log "polkitd: pid $TK_POLKITD_PID"
}

# ---------------------------------------------------------------------------
# Processes.

# True if PID is running (a zombie is not running; children stay zombies until reaped).
tk_alive() {
        local state
        state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
        [[ -n $state && $state != Z ]]
}

# Stop PID: SIGNAL (default TERM), then KILL after 10 s. Only processes in our mount namespace,
# so a recycled pid that is not ours is never touched.
tk_stop_pid() {
        local pid=$1 sig=${2:-TERM} i
        tk_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
        [[ $(readlink "/proc/$pid/ns/mnt" 2>/dev/null) == "$(readlink /proc/self/ns/mnt)" ]] || return 0
        kill -s "$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < 1000; i++)); do
                tk_alive "$pid" || break
                sleep 0.01
        done
        if tk_alive "$pid"; then
                tk_log "pid $pid ignored SIG$sig, killing it"
                kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
}

tk_dump_log() {
        [[ -s $1 ]] || return 0
        printf '# ---- %s (last 50 lines)\n' "${1##*/}" >&2
        tail -n 50 "$1" | sed 's/^/#   /' >&2
}

tk_cleanup() {
        local rc=$? pid m i
        trap - EXIT INT TERM
        set +e
        ((rc == 0 && TK_FAILURES > 0)) && rc=1
        # A test that got through without a single check tested nothing: that is a failure.
        if ((rc == 0 && TK_CHECKS == 0)); then
                tk_log "no check ran: failing"
                rc=1
        fi
        if ((rc != 0 && rc != 77)) && [[ -n $TK_TMP ]]; then
                tk_dump_log "$TK_TMP/daemon.log"
                tk_dump_log "$TK_TMP/polkitd.log"
                tk_dump_log "$TK_TMP/dbus-daemon.log"
        fi
        # Clients first, then the daemon, polkitd and the bus last.
        if [[ -n $TK_TMP && -f $TK_TMP/pids ]]; then
                for pid in $(tac "$TK_TMP/pids"); do
                        tk_stop_pid "$pid"
                done
        fi
        for ((i = ${#TK_MOUNTS[@]} - 1; i >= 0; i--)); do
                m=${TK_MOUNTS[i]}
                umount "$m" || umount -l "$m"
        done
        if [[ -n $TK_TMP ]]; then
                if [[ -n ${TK_KEEP:-} ]]; then
                        tk_log "kept $TK_TMP"
                else
                        rm -rf "$TK_TMP"
                fi
        fi
        if ((TK_CHECKS > 0)); then
                tk_log "$((TK_CHECKS - TK_FAILURES))/$TK_CHECKS checks passed"
        fi
        exit "$rc"
}

# run_as USER CMD...: run CMD as USER with USER's groups (from the private /etc/group) and
# the current environment (DBUS_SYSTEM_BUS_ADDRESS included), in the foreground.
run_as() {
        local -a cmd
        tk_as_user_cmd "$@"
        "${cmd[@]}"
}

# Fill the caller's array "cmd" with the command line running $2... as user $1.
tk_as_user_cmd() {
        local user=$1 uid gid
        shift
        if ! uid=$(id -u "$user") || ! gid=$(id -g "$user"); then
                tk_die "no such user: $user"
        fi
        cmd=(env HOME=/nonexistent USER="$user" LOGNAME="$user"
             setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@")
}

# run_as_bg USER CMD...: the same in the background; sets TK_LAST_PID once the process runs
# as USER (so its pid may be used as a polkit subject). Cleaned up on exit. Call it
# directly, not in $(...), or the pid is lost to a subshell.
run_as_bg() {
        local user=$1 uid i
        local -a cmd
        uid=$(id -u "$user") || tk_die "no such user: $user"
        tk_as_user_cmd "$@"
        # A simple command, so the background job execs it and $! is the process itself.
        "${cmd[@]}" &
        TK_LAST_PID=$!
        tk_register_pid "$TK_LAST_PID"
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 100; i++)); do
                [[ $(awk '/^Uid:/ { print $2 }' "/proc/$TK_LAST_PID/status" 2>/dev/null) == "$uid" ]] &&
                        return 0
                tk_alive "$TK_LAST_PID" || tk_die "process for $user exited early: $*"
                sleep 0.01
        done
        tk_die "process for $user did not switch to uid $uid"
}

# run_as_bus_client_bg USER: a process of USER holding a bus connection that does nothing
# (dbus-monitor; as non-root it falls back to a plain match rule). Sets TK_LAST_PID and
# TK_LAST_BUS_NAME (its unique name).
run_as_bus_client_bg() {
        local user=$1
        run_as_bg "$user" dbus-monitor --system "type='signal',interface='org.vfio.TestNever'" \
                >/dev/null 2>&1
        TK_LAST_BUS_NAME=$(bus_name_of_pid "$TK_LAST_PID") ||
                tk_die "no bus connection for pid $TK_LAST_PID ($user)"
}

# ---------------------------------------------------------------------------
# Bus helpers.

bus_call() {
        busctl --system --timeout="$TK_CALL_TIMEOUT" "$@"
}

bus_name_has_owner() {
        [[ $(busctl --system --timeout="$TK_CALL_TIMEOUT" call org.freedesktop.DBus /org/freedesktop/DBus \
                org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null) == "b true" ]]
}

# wait_bus_name NAME [PID]: wait (bounded) until NAME has an owner; fail early if PID died.
wait_bus_name() {
        local name=$1 pid=${2:-} i
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 50; i++)); do
                bus_name_has_owner "$name" && return 0
                if [[ -n $pid ]] && ! tk_alive "$pid"; then
                        return 1
                fi
                sleep 0.02
        done
        return 1
}

# bus_name_of_pid PID: print the unique name of PID's bus connection (waits for it).
bus_name_of_pid() {
        local pid=$1 i name
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 50; i++)); do
                name=$(busctl --system --unique --no-legend --no-pager list 2>/dev/null |
                        awk -v p="$pid" '$2 == p && !n++ { print $1 }') || true
                [[ -n $name ]] && { echo "$name"; return 0; }
                tk_alive "$pid" || return 1
                sleep 0.02
        done
        return 1
}

# ---------------------------------------------------------------------------
# polkit.

# polkit_check [--as USER] [--interactive] ACTION SUBJECT [KEY VALUE]...
# SUBJECT is "pid:N" (unix-process, with its start time and uid) or "name:BUSNAME"
# (system-bus-name, as the daemon uses). Prints "yes", "challenge" or "no"; fails (with
# busctl's error on stderr) if the call fails. The caller is root unless --as is given.
polkit_check() {
        local as='' flags=0 action subject kind id st uid out
        local -a subj details prefix=()
        while [[ $1 == --* ]]; do
                case $1 in
                --as) as=$2; shift 2 ;;
                --interactive) flags=1; shift ;;
                *) tk_die "polkit_check: unknown option $1" ;;
                esac
        done
        action=$1 subject=$2
        shift 2
        (($# % 2 == 0)) || tk_die "polkit_check: details must be KEY VALUE pairs"
        details=("$(($# / 2))" "$@")

        kind=${subject%%:*} id=${subject#*:}
        case $kind in
        pid)
                # Field 22 of /proc/PID/stat, counted after the parenthesised command name.
                st=$(sed 's/^.*) //' "/proc/$id/stat" | awk '{ print $20 }') || return 1
                uid=$(awk '/^Uid:/ { print $2 }' "/proc/$id/status") || return 1
                subj=(unix-process 3 pid u "$id" start-time t "$st" uid i "$uid")
                ;;
        name)
                subj=(system-bus-name 1 name s "$id")
                ;;
        *)
                tk_die "polkit_check: bad subject $subject"
                ;;
        esac

        [[ -n $as ]] && prefix=(run_as "$as")
        out=$("${prefix[@]}" busctl --system --timeout="$TK_CALL_TIMEOUT" call \
                org.freedesktop.PolicyKit1 /org/freedesktop/PolicyKit1/Authority \
                org.freedesktop.PolicyKit1.Authority CheckAuthorization '(sa{sv})sa{ss}us' \
                "${subj[@]}" "$action" "${details[@]}" "$flags" "") || return 1
        # Reply: "(bba{ss}) IS_AUTHORIZED IS_CHALLENGE N [KEY VALUE]..."
        read -r _ authorized challenge _ <<<"$out"
        if [[ $authorized == true ]]; then
                echo yes
        elif [[ $challenge == true ]]; then
                echo challenge
        else
                echo no
        fi
}

# ---------------------------------------------------------------------------
# The daemon under test.

# start_daemon [--user USER] CMD [ARG]...: start the daemon with the private bus in its
# environment and its output appended to $TK_DAEMON_LOG (one log for the whole test, across
# restarts), and wait until it owns org.vfio.Tokend1. Sets TK_DAEMON_PID. By default it runs
# as root (it drops privileges itself); --user starts it as USER (e.g. vfio-tokend) directly.
# Extra environment (e.g. the fixture root for the kernel model) goes in front with env(1):
#     start_daemon env VAR=... "$TK_BUILDDIR/tests/vfio-tokend-model" \
#             --config="$TK_TMP/tokend.conf" --state-dir="$TK_TMP/state"
start_daemon() {
        local -a cmd
        if [[ ${1:-} == --user ]]; then
                (($# > 2)) || tk_die "start_daemon: no command"
                tk_as_user_cmd "$2" "${@:3}"
        else
                (($# > 0)) || tk_die "start_daemon: no command"
                cmd=("$@")
        fi
        [[ -z $TK_DAEMON_PID ]] || tk_die "start_daemon: daemon already running (pid $TK_DAEMON_PID)"
        export TK_DAEMON_LOG=$TK_TMP/daemon.log
        "${cmd[@]}" >>"$TK_DAEMON_LOG" 2>&1 &
        TK_DAEMON_PID=$!
        tk_register_pid "$TK_DAEMON_PID"
        if ! wait_bus_name "$TK_BUS_NAME" "$TK_DAEMON_PID"; then
                tk_dump_log "$TK_DAEMON_LOG"
                tk_die "daemon did not appear on the bus as $TK_BUS_NAME: $*"
        fi
        tk_log "daemon: pid $TK_DAEMON_PID"
}

# stop_daemon [SIGNAL]: stop it (TERM by default; KILL to simulate a crash) and wait until it
# is gone from the bus. Sets TK_DAEMON_STATUS to its exit status.
stop_daemon() {
        local sig=${1:-TERM} pid=$TK_DAEMON_PID i
        [[ -n $pid ]] || tk_die "stop_daemon: no daemon running"
        kill -s "$sig" "$pid" 2>/dev/null || true
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 100; i++)); do
                tk_alive "$pid" || break
                sleep 0.01
        done
        tk_alive "$pid" && tk_die "daemon (pid $pid) still running ${TK_STARTUP_TIMEOUT}s after SIG$sig"
        TK_DAEMON_STATUS=0
        { wait "$pid"; } 2>/dev/null || TK_DAEMON_STATUS=$?
        TK_DAEMON_PID=
        for ((i = 0; i < TK_STARTUP_TIMEOUT * 50; i++)); do
                bus_name_has_owner "$TK_BUS_NAME" || return 0
                sleep 0.02
        done
        tk_die "$TK_BUS_NAME still owned after the daemon exited"
}

# ---------------------------------------------------------------------------
# Assertions: each prints "ok N - DESC" or "not ok N - DESC"; the script exits non-zero at
# the end if any failed, and carries on after a failure so one run shows them all.

tk_result() {
        local ok=$1 desc=$2
        TK_CHECKS=$((TK_CHECKS + 1))
        if ((ok)); then
                printf 'ok %d - %s\n' "$TK_CHECKS" "$desc"
        else
                TK_FAILURES=$((TK_FAILURES + 1))
                printf 'not ok %d - %s\n' "$TK_CHECKS" "$desc"
        fi
}

# check DESC CMD...: CMD succeeds.
check() {
        local desc=$1
        shift
        if "$@"; then tk_result 1 "$desc"; else tk_result 0 "$desc"; fi
}

# check_fails DESC CMD...: CMD fails.
check_fails() {
        local desc=$1
        shift
        if "$@"; then tk_result 0 "$desc"; else tk_result 1 "$desc"; fi
}

# check_eq DESC GOT WANT
check_eq() {
        if [[ $2 == "$3" ]]; then
                tk_result 1 "$1"
        else
                tk_result 0 "$1"
                printf '#   got:  %s\n#   want: %s\n' "$2" "$3"
        fi
}

# check_contains DESC HAYSTACK NEEDLE
check_contains() {
        if [[ $2 == *"$3"* ]]; then
                tk_result 1 "$1"
        else
                tk_result 0 "$1"
                printf '#   %s\n#   does not contain: %s\n' "$2" "$3"
        fi
}
