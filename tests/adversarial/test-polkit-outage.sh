#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Adversarial case d: polkit out of service. AccessDenied means "polkit said no" and nothing else:
# - polkitd stopped (SIGSTOP) for 30 s: the checks the daemon started give up after its 25 s
#   (VFIO_TOKEN_AUTH_TIMEOUT_USEC) with AuthorizationUnavailable, for the authorised user and the
#   refused one alike; a call over the quota of pending checks gets LimitsExceeded; calls made
#   late in the stop are answered after the resume: a grant, or AuthorizationUnavailable;
# - polkitd killed with checks running, and then absent from the bus: AuthorizationUnavailable;
# - the daemon never crashes, and serves again once polkitd is back.
set -euo pipefail
. "$(dirname "$0")/adv-lib.sh"
harness_enter_namespace "$@"

STOP_SEC=30

adv_start
adv_before

# --- polkitd stopped for $STOP_SEC s.
check "polkitd is stopped" kill -STOP "$TK_POLKITD_PID"
stopped_at=$SECONDS
# One call more than the quota of pending checks: that one is refused at once.
flood_bg stop-allowed "$ALLOWED" --connections=1 --calls=$((MAX_PENDING + 1)) --timeout=60 "$VF"
flood_bg stop-refused "$REFUSED" --connections=1 --calls="$MAX_PENDING" --timeout=60 "$VF"
flood_wait stop-allowed
flood_wait stop-refused
check_eq "polkitd stopped: $ALLOWED's checks give up with AuthorizationUnavailable, one over quota" \
        "$(flood_summary stop-allowed)" "sent=$((MAX_PENDING + 1)) LimitsExceeded=1 AuthorizationUnavailable=$MAX_PENDING"
check_eq "polkitd stopped: $REFUSED's too: AuthorizationUnavailable, not AccessDenied" \
        "$(flood_summary stop-refused)" "sent=$MAX_PENDING AuthorizationUnavailable=$MAX_PENDING"

# Calls made late in the stop: polkitd resumes while they wait.
flood_bg late "$ALLOWED" --connections=1 --calls=8 --timeout=60 "$VF"
left=$((STOP_SEC - (SECONDS - stopped_at)))
((left <= 0)) || sleep "$left"
check "polkitd is resumed after ${STOP_SEC} s" kill -CONT "$TK_POLKITD_PID"
flood_wait late
tk_log "calls made late in the stop: $(flood_summary late)"
check "calls made late in the stop: a grant after the resume, or AuthorizationUnavailable" \
        flood_outcomes_in late ok "$E_UNAVAILABLE"
check_eq "... all 8 answered" "$(($(flood_count late ok) + $(flood_count late "$E_UNAVAILABLE")))" 8
check "polkitd resumed: $ALLOWED gets a token" acquire_works
check "polkitd resumed: no lease is left" wait_until no_leases
check_pending_free "polkitd resumed" "$REFUSED" AccessDenied
check_pending_free "polkitd resumed" "$ALLOWED" ok

# --- polkitd killed while checks run (stopped, so that they are surely running), then absent.
check "polkitd is stopped again" kill -STOP "$TK_POLKITD_PID"
flood_bg kill-allowed "$ALLOWED" --connections=1 --calls=8 --timeout=60 "$VF"
flood_bg kill-refused "$REFUSED" --connections=1 --calls=8 --timeout=60 "$VF"
# The daemon gets the calls and asks polkitd; a call that is late for this is asked of no polkitd
# at all, which must give the same answer.
sleep 1
check "polkitd is killed" kill -KILL "$TK_POLKITD_PID"
wait "$TK_POLKITD_PID" 2>/dev/null || true
flood_wait kill-allowed
flood_wait kill-refused
check_eq "polkitd killed mid-check: $ALLOWED gets AuthorizationUnavailable" "$(flood_summary kill-allowed)" \
        "sent=8 AuthorizationUnavailable=8"
check_eq "polkitd killed mid-check: so does $REFUSED, never AccessDenied" "$(flood_summary kill-refused)" \
        "sent=8 AuthorizationUnavailable=8"

flood gone-allowed "$ALLOWED" --connections=1 --calls=8 --timeout=60 "$VF"
flood gone-refused "$REFUSED" --connections=1 --calls=8 --timeout=60 "$VF"
check_eq "polkitd absent from the bus: $ALLOWED gets AuthorizationUnavailable" "$(flood_summary gone-allowed)" \
        "sent=8 AuthorizationUnavailable=8"
check_eq "polkitd absent from the bus: so does $REFUSED" "$(flood_summary gone-refused)" \
        "sent=8 AuthorizationUnavailable=8"
check "polkitd absent: the daemon is still running" tk_alive "$TK_DAEMON_PID"
check_eq "polkitd absent: it still owns $TK_BUS_NAME" "$(daemon_owner)" "$ADV_OWNER"

polkit_gone() {
        ! bus_name_has_owner org.freedesktop.PolicyKit1
}
# A new polkitd gives up if the bus has not yet let go of the old one's name.
wait_until polkit_gone || tk_die "org.freedesktop.PolicyKit1 still has an owner after polkitd was killed"
tk_start_polkitd
check "polkitd back: $ALLOWED gets a token" acquire_works
adv_after "polkitd stopped, killed and restarted"
adv_no_token_leaks
