#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Adversarial case c: callers that leave before polkit answers, 1,000 of them, one connection and
# one AcquireToken each, half authorised, half refused:
# - 500 close their connection right after sending, racing a live polkitd (they leave before,
#   while or after the daemon identifies them and asks polkitd);
# - 500 with polkitd stopped: each user's first 16 calls (MaxPendingChecksPerUser) certainly wait
#   for polkitd, the rest are over quota; then the callers give up and leave.
# Nothing may be left over: no lease (nothing granted to a caller that is gone, even once polkitd
# answers), no pending check (each user's quota is whole again while polkitd still sleeps), no
# match rule.
set -euo pipefail
. "$(dirname "$0")/adv-lib.sh"
harness_enter_namespace "$@"

adv_start
adv_before

# The bus counts connections; once it is back to where it was, it has sent the daemon every
# NameOwnerChanged of the callers that left, ahead of anything sent later.
bus_connections() {
        bus_call call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListNames 2>/dev/null |
                grep -oE '":[0-9.]+"' | wc -l
}
connections_back() {
        [[ $(bus_connections) -le $base_connections ]]
}
base_connections=$(bus_connections)

# How many leases the daemon has created: InterfacesAdded signals for a lease object, as
# dbus-monitor saw them.
leases_created() {
        awk '/ member=/ { added = / member=InterfacesAdded$/; next }
             added && /^ *object path "\/org\/vfio\/Tokend1\/lease\// { n++; added = 0 }
             END { print n + 0 }' "$MONITOR_LOG"
}
# Until dbus-monitor has written everything the bus had before now: a marker signal of our own.
monitor_sync() {
        local member=Sync$((++syncs))
        busctl --system emit /org/vfio/TestMarker org.vfio.TestMarker "$member" >/dev/null 2>&1 || true
        wait_until grep -q "member=$member\$" "$MONITOR_LOG"
}
syncs=0
leases_created_are() {
        [[ $(leases_created) == "$1" ]]
}

# --- 500 callers racing a live polkitd: 250 of each user (the bus allows 256 connections per
# user at once), each gone right after sending: before, while or after the daemon identifies it
# and asks polkitd.
for user in "$ALLOWED" "$REFUSED"; do
        flood_bg "racing-$user" "$user" --connections=250 --mode=disconnect-early "$VF"
done
for user in "$ALLOWED" "$REFUSED"; do
        flood_wait "racing-$user"
        check_eq "racing polkitd: 250 callers of $user sent their call and left" \
                "$(flood_summary "racing-$user")" "sent=250"
done
check "racing polkitd: the bus saw them all leave" wait_until connections_back
check "racing polkitd: no lease is left" wait_until no_leases
check_pending_free "racing polkitd" "$REFUSED" AccessDenied
check_pending_free "racing polkitd" "$ALLOWED" ok

# --- 500 callers with polkitd stopped: each user's first $MAX_PENDING calls are certainly waiting
# for polkitd, the rest over quota, when the callers give up after a few seconds and leave.
monitor_sync || tk_die "dbus-monitor fell behind"
created=$(leases_created)
check "polkitd is stopped" kill -STOP "$TK_POLKITD_PID"
stuck="sent=250 LimitsExceeded=$((250 - MAX_PENDING)) unanswered=$MAX_PENDING"
for user in "$ALLOWED" "$REFUSED"; do
        flood_bg "stopped-$user" "$user" --connections=250 --timeout=5 "$VF"
done
for user in "$ALLOWED" "$REFUSED"; do
        flood_wait "stopped-$user"
        check_eq "polkitd stopped: of 250 callers of $user, $MAX_PENDING wait for polkitd, the rest are over quota" \
                "$(flood_summary "stopped-$user")" "$stuck"
done
check "polkitd stopped: the bus saw them all leave" wait_until connections_back
# Still stopped, so nothing answered those checks: the quotas must be whole again all the same.
# The same again: a user's full quota of calls waits for polkitd, none is over quota; these
# callers leave too.
for user in "$ALLOWED" "$REFUSED"; do
        flood "stopped-again-$user" "$user" --connections=1 --calls="$MAX_PENDING" --timeout=5 "$VF"
        check_eq "polkitd stopped, the callers gone: $user can have $MAX_PENDING checks waiting again" \
                "$(flood_summary "stopped-again-$user")" "sent=$MAX_PENDING unanswered=$MAX_PENDING"
done
check "polkitd stopped: nothing was granted to a caller that left" no_leases
check "polkitd is resumed" kill -CONT "$TK_POLKITD_PID"
check "polkitd resumed: no lease appears for the callers that left" wait_until no_leases
check_pending_free "polkitd resumed" "$ALLOWED" ok
check "since polkitd was stopped, the only leases created were those $MAX_PENDING" \
        wait_until leases_created_are $((created + MAX_PENDING))

adv_after "1,000 callers that left early"
adv_no_token_leaks
