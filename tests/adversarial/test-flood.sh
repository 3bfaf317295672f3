#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Adversarial case a: a user polkit refuses floods the daemon with 2,000 concurrent AcquireToken
# calls over 20 connections while an authorised user asks for tokens. The flood gets only
# AccessDenied (polkit said no) and LimitsExceeded (over the per-user quota of pending checks),
# every call an answer; the authorised user is served throughout; afterwards the daemon holds
# nothing over.
set -euo pipefail
. "$(dirname "$0")/adv-lib.sh"
harness_enter_namespace "$@"

adv_start
adv_before

# The flood and, at the same time, the authorised user: 8 concurrent calls of her own (under her
# quota of pending checks) and one vfio-tokenctl acquire.
flood_bg flood "$REFUSED" --connections=20 --calls=100 --timeout=120 "$VF"
flood_bg served "$ALLOWED" --connections=1 --calls=8 --timeout=120 "$VF"
check "$ALLOWED's vfio-tokenctl acquire during the flood gives the token" acquire_works
flood_wait flood
flood_wait served

tk_log "the flood: $(flood_summary flood)"
check "the flood got an answer to every call: AccessDenied or LimitsExceeded, nothing else" \
        flood_outcomes_in flood "$E_DENIED" "$E_LIMITS"
denied=$(flood_count flood "$E_DENIED")
over=$(flood_count flood "$E_LIMITS")
check_eq "... all 2000 were sent" "$(flood_count flood sent)" 2000
check_eq "... and all 2000 answered ($denied AccessDenied, $over LimitsExceeded)" "$((denied + over))" 2000
check "... polkit was asked and said no (AccessDenied at least once)" test "$denied" -ge 1
check_eq "$ALLOWED's 8 concurrent calls during the flood were all granted" "$(flood_summary served)" "sent=8 ok=8"

check "$ALLOWED's acquire after the flood gives the token" acquire_works
check_pending_free "after the flood" "$ALLOWED" ok
adv_after "the flood"
adv_no_token_leaks
