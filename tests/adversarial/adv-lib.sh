# shellcheck shell=bash source-path=SCRIPTDIR
#
# The adversarial suite (issue 9: a privileged service is judged by what a hostile local user can
# do to it): bus-flood run as the test users, its counts, and the checks that end every case,
# proving by outcome that the hostile user left the daemon as it found it. Brings in the
# integration harness (tests/integration/lib.sh and tokend-lib.sh: a private dbus-daemon and
# polkitd, test users and rules, the daemon on the kernel model):
#
#     #!/bin/bash
#     set -euo pipefail
#     . "$(dirname "$0")/adv-lib.sh"
#     harness_enter_namespace "$@"   # re-execs the script in its own mount namespace
#     adv_start [KEY=VALUE]...       # harness, daemon (with these [Daemon] keys), a first grant
#     adv_before                     # the daemon's process, bus name and memory before the case
#     ...                            # the case: floods, outcomes
#     adv_after "the flood"          # the daemon is the same, owns its name, holds nothing over
#     adv_no_token_leaks             # the last check
#
# Every assertion is about outcomes (which answers, how many, what is left), never about time.
# Where a bound is needed (a flood's --timeout), it only ends a run that would otherwise hang.

# Variables here are for the scripts that source this file.
# shellcheck disable=SC2034

# shellcheck source=../integration/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
# shellcheck source=../integration/tokend-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/tokend-lib.sh"

FLOOD=$TK_BUILDDIR/tests/adversarial/bus-flood

# The test rules (tests/integration/rules/50-test.rules) grant alice (group kvm-test) the acquire
# action on $TK_PF and carol (other-test) on $TK_OTHER_PF; bob gets an immediate "no" on $TK_PF.
ALLOWED=alice
REFUSED=bob
VF=0000:01:00.1
OTHER_VF=0000:02:00.1

# [Daemon] MaxPendingChecksPerUser= default, and how many match rules "a handful" is: caller
# tracking is one NameOwnerChanged match, whatever the number of leases and checks.
MAX_PENDING=16
MATCH_RULES_MAX=4

E_DENIED=org.freedesktop.DBus.Error.AccessDenied
E_LIMITS=org.freedesktop.DBus.Error.LimitsExceeded
E_UNAVAILABLE=org.vfio.Tokend1.Error.AuthorizationUnavailable

declare -A FLOOD_PID FLOOD_STDIN

# adv_init: after harness_start; tokend_init, then bus-flood copied beside the other programs
# (the test users run it; a build tree in a home directory is out of their reach).
adv_init() {
        tokend_init
        [[ -x $FLOOD ]] || tk_die "$FLOOD is not built (make all)"
        install -m 0755 "$FLOOD" "$TK_TMP/bin/"
        FLOOD=$TK_TMP/bin/bus-flood
}

# adv_start [DAEMON-KEY=VALUE]...: after harness_enter_namespace; the harness, the fixture, the
# daemon on both fixture PFs with the given [Daemon] keys, dbus-monitor, and a first grant.
# shellcheck disable=SC2120 # the keys are optional
adv_start() {
        harness_start
        adv_init
        make_fixture "$FX"
        adv_write_config "$@"
        start_monitor
        start_tokend
        check "$ALLOWED gets a token" acquire_works
}

# acquire_works: vfio-tokenctl acquire as $ALLOWED gives a token (recorded for the leak check).
acquire_works() {
        local out rc=0
        out=$(tokenctl "$ALLOWED" acquire "$VF" 2>&1) || rc=$?
        seen "$out"
        ((rc == 0)) && grep -qE "^$UUID_RE\$" <<<"$out"
}

# adv_write_config [DAEMON-KEY=VALUE]...: both fixture PFs, with the given [Daemon] keys.
adv_write_config() {
        {
                if (($# > 0)); then
                        echo "[Daemon]"
                        printf '%s\n' "$@"
                        echo
                fi
                printf '[PhysicalFunction]\nAddress=%s\n\n[PhysicalFunction]\nAddress=%s\n' "$TK_PF" "$TK_OTHER_PF"
        } >"$CONF"
}

# ---------------------------------------------------------------------------
# bus-flood. Each run has a NAME; its counts go to $TK_TMP/flood-NAME.out, stderr beside it.

flood_out() {
        echo "$TK_TMP/flood-$1.out"
}

# flood NAME USER BUS-FLOOD-ARGS...: in the foreground.
flood() {
        local name=$1 user=$2 rc=0
        shift 2
        run_as "$user" "$FLOOD" "$@" >"$(flood_out "$name")" 2>"$TK_TMP/flood-$name.err" || rc=$?
        ((rc == 0)) || tk_log "bus-flood $name exited with status $rc: $(head -c 300 "$TK_TMP/flood-$name.err")"
}

# flood_bg NAME USER BUS-FLOOD-ARGS...: in the background, until flood_wait NAME. Not in $(...).
flood_bg() {
        local name=$1 user=$2
        shift 2
        run_as_bg "$user" "$FLOOD" "$@" >"$(flood_out "$name")" 2>"$TK_TMP/flood-$name.err"
        FLOOD_PID[$name]=$TK_LAST_PID
}

# flood_wait NAME: until it exits; it stops by itself (its --timeout bounds it).
flood_wait() {
        local rc=0
        wait "${FLOOD_PID[$1]}" || rc=$?
        ((rc == 0)) || tk_log "bus-flood $1 exited with status $rc: $(head -c 300 "$TK_TMP/flood-$1.err")"
}

# flood_hold NAME USER BUS-FLOOD-ARGS...: --mode=hold in the background; returns once it has
# counted its replies (at most its --timeout, default 60 s, and a little more). Its stdin is a
# fifo whose only writer is a helper; flood_release NAME closes it and the connections with it.
flood_hold() {
        local name=$1 user=$2 fifo=$TK_TMP/flood-$1.in i
        shift 2
        mkfifo "$fifo"
        # The writer first: opening the fifo waits for the other side.
        sleep infinity >"$fifo" &
        FLOOD_STDIN[$name]=$!
        tk_register_pid "${FLOOD_STDIN[$name]}"
        # Not through run_as_bg: a background job's stdin is /dev/null unless its own command line
        # redirects it.
        local -a cmd
        tk_as_user_cmd "$user" "$FLOOD" --mode=hold "$@"
        "${cmd[@]}" <"$fifo" >"$(flood_out "$name")" 2>"$TK_TMP/flood-$name.err" &
        FLOOD_PID[$name]=$!
        tk_register_pid "${FLOOD_PID[$name]}"
        for ((i = 0; i < 700 * 10; i++)); do
                grep -qx 'done' "$(flood_out "$name")" && return 0
                tk_alive "${FLOOD_PID[$name]}" || break
                sleep 0.1
        done
        tk_die "bus-flood $name (hold) did not count its replies: $(cat "$TK_TMP/flood-$name.err")"
}

flood_release() {
        tk_stop_pid "${FLOOD_STDIN[$1]}"
        flood_wait "$1"
}

# flood_count NAME OUTCOME: how many calls had OUTCOME ("ok", an error name, "sent", ...).
flood_count() {
        awk -v o="$2" '$1 == o { n = $2 } END { print n + 0 }' "$(flood_out "$1")"
}

# flood_summary NAME: the counts on one line, error names shortened to their last part, e.g.
# "sent=70 ok=64 LimitsExceeded=6"; "unfinished" at the end if bus-flood did not finish.
flood_summary() {
        awk '$1 == "done" { done = 1; next }
             { n = split($1, p, "."); s = s (s == "" ? "" : " ") p[n] "=" $2 }
             END { if (!done) s = s (s == "" ? "" : " ") "unfinished"; print s }' "$(flood_out "$1")"
}

# flood_outcomes_in NAME OUTCOME...: every call had one of the OUTCOMEs (and got an answer).
flood_outcomes_in() {
        local name=$1 o
        shift
        grep -qx 'done' "$(flood_out "$name")" || return 1
        while read -r o _; do
                case $o in
                sent | done) ;;
                *) [[ " $* " == *" $o "* ]] || return 1 ;;
                esac
        done <"$(flood_out "$name")"
}

# ---------------------------------------------------------------------------
# The daemon as the bus and the kernel see it.

daemon_owner() {
        bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s \
                "$TK_BUS_NAME" 2>/dev/null | sed -n 's/^s "\(.*\)"$/\1/p' || true
}

daemon_rss_kb() {
        awk '/^VmRSS:/ { print $2 }' "/proc/$TK_DAEMON_PID/status" 2>/dev/null || true
}

# dbus-daemon's org.freedesktop.DBus.Debug.Stats (built with --enable-stats; root may ask).
bus_has_stats() {
        bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.Debug.Stats GetStats \
                >/dev/null 2>&1
}

# conn_stat NAME KEY: a number from GetConnectionStats of unique name NAME, e.g. MatchRules.
conn_stat() {
        bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.Debug.Stats \
                GetConnectionStats s "$1" 2>/dev/null | grep -oE "\"$2\" u [0-9]+" | awk '{ print $3 }' || true
}

# How many leases `vfio-tokenctl leases` lists (root sees all of them).
LEASE_PREFIX=/org/vfio/Tokend1/lease/
lease_lines() {
        tokenctl root leases 2>/dev/null | grep -c "$LEASE_PREFIX" || true
}

no_leases() {
        local out
        out=$(tokenctl root leases 2>&1) || return 1
        ! grep -q "$LEASE_PREFIX" <<<"$out"
}

# The check that the match rules of the daemon's connection stay a handful, now and at their peak
# (the peak covers the whole case, so no sample has to land at the right moment).
check_match_rules() {
        local what=$1 now peak
        if ! bus_has_stats; then
                tk_log "dbus-daemon has no Debug.Stats interface: match rules not checked ($what)"
                return 0
        fi
        now=$(conn_stat "$ADV_OWNER" MatchRules)
        peak=$(conn_stat "$ADV_OWNER" PeakMatchRules)
        check "$what: the daemon's connection holds a handful of match rules (now $now, at most $MATCH_RULES_MAX)" \
                test "${now:-999}" -le "$MATCH_RULES_MAX"
        check "$what: ... and never held more (peak $peak)" test "${peak:-999}" -le "$MATCH_RULES_MAX"
}

# ---------------------------------------------------------------------------
# Before and after each case.

# adv_before: what the case must leave as it is. The memory is measured after a first flood as
# large as any case's (2,000 calls at once): the first burst of a daemon's life leaves its heap at
# a high-water mark (sd-bus queues, allocator arenas; about 0.8 MiB here) that later ones do not
# raise, and the check is of what a case leaves behind, not of malloc's retention.
adv_before() {
        flood warm-up "$REFUSED" --connections=20 --calls=100 "$VF"
        ADV_PID=$TK_DAEMON_PID
        ADV_OWNER=$(daemon_owner)
        ADV_RSS=$(daemon_rss_kb)
        [[ -n $ADV_OWNER && -n $ADV_RSS ]] || tk_die "the daemon is not on the bus"
        tk_log "before the case: daemon pid $ADV_PID, $ADV_OWNER, VmRSS $ADV_RSS kB"
}

ADV_PROBES=0

# check_pending_free WHAT USER WANT: USER can have MaxPendingChecksPerUser checks in flight at once
# again, so none of USER's is left over: that many concurrent calls, none over quota. WANT is
# how polkit answers USER: "AccessDenied" or "ok".
check_pending_free() {
        local what=$1 user=$2 want=$3 name
        ADV_PROBES=$((ADV_PROBES + 1))
        name=probe-$ADV_PROBES
        flood "$name" "$user" --connections=1 --calls="$MAX_PENDING" "$VF"
        check_eq "$what: $user can have $MAX_PENDING checks in flight again (none over quota)" \
                "$(flood_summary "$name")" "sent=$MAX_PENDING $want=$MAX_PENDING"
}

same_daemon() {
        tk_alive "$ADV_PID" && [[ $TK_DAEMON_PID == "$ADV_PID" ]]
}

# adv_after WHAT: the daemon is the same process and owns its name; no lease and no pending
# check is left; its connection holds a handful of match rules; its memory is back within 1 MiB.
adv_after() {
        local what="after $1" rss
        check "$what: the daemon is still running, the same process" same_daemon
        check_eq "$what: it still owns $TK_BUS_NAME" "$(daemon_owner)" "$ADV_OWNER"
        check "$what: no lease is left (vfio-tokenctl leases)" wait_until no_leases
        check_pending_free "$what" "$REFUSED" AccessDenied
        check_match_rules "$what"
        rss=$(daemon_rss_kb)
        if grep -q libasan "/proc/$TK_DAEMON_PID/maps" 2>/dev/null; then
                # ASan's quarantine holds freed memory back by design.
                tk_log "$what: the daemon runs under AddressSanitizer: VmRSS not checked ($rss kB)"
                return 0
        fi
        check "$what: the daemon's VmRSS is back within 1 MiB ($ADV_RSS kB before, ${rss:-?} kB now)" \
                test "${rss:-999999}" -le $((ADV_RSS + 1024))
}

# The last check: no token the test saw (its own grants and the kernel model's tokens of both
# PFs) is in any log (daemon, polkitd, dbus-daemon), in any signal, or in bus-flood's output.
adv_no_token_leaks() {
        local t hex leaked=0 f
        local -a logs=()
        seen "$(model_token "$TK_PF")"
        seen "$(model_token "$TK_OTHER_PF")"
        for f in "$TK_TMP"/*.log "$TK_TMP"/flood-*.out "$TK_TMP"/flood-*.err; do
                [[ -f $f ]] && logs+=("$f")
        done
        while read -r t; do
                hex=${t//-/}
                grep -qiF -e "$t" -e "$hex" "${logs[@]}" && leaked=$((leaked + 1))
        done < <(sort -u "$SEEN" 2>/dev/null)
        check_eq "no token is in the logs of polkitd and dbus-daemon or in bus-flood's output" "$leaked" 0
        check_no_token_leaks
}
