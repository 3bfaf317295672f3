#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Adversarial case b: an authorised user hoards leases. With MaxLeasesPerUser=1100, 64 leases per
# connection: one connection asking 70 times gets 64; 20 connections asking 70 times each get
# exactly 1100 (the per-user quota; 20 x 64 would be 1280), every other call LimitsExceeded at
# once, never AccessDenied. While the hoard is held the daemon still owns its name and serves
# others, its connection holds a handful of match rules; when the hoarder leaves, every lease ends.
set -euo pipefail
. "$(dirname "$0")/adv-lib.sh"
harness_enter_namespace "$@"

HOARD=1100 # MaxLeasesPerUser=
PER_CONNECTION=64

adv_start "MaxLeasesPerUser=$HOARD"
adv_before

# At most 8 calls in flight: the hoarder stays under her quota of pending polkit checks, so every
# refusal below is a lease quota.
flood one "$ALLOWED" --connections=1 --calls=70 --max-in-flight=8 "$VF"
check_eq "one connection gets $PER_CONNECTION leases, then LimitsExceeded" "$(flood_summary one)" \
        "sent=70 ok=$PER_CONNECTION LimitsExceeded=6"
check "its leases end with its connection" wait_until no_leases

flood_hold hoard "$ALLOWED" --connections=20 --calls=70 --max-in-flight=8 --timeout=300 "$VF"
check_eq "20 connections get $HOARD leases (MaxLeasesPerUser), every other call LimitsExceeded" \
        "$(flood_summary hoard)" "sent=1400 ok=$HOARD LimitsExceeded=300"
check_eq "vfio-tokenctl leases lists the $HOARD leases" "$(lease_lines)" "$HOARD"
check_eq "the daemon still owns $TK_BUS_NAME" "$(daemon_owner)" "$ADV_OWNER"
check_match_rules "with $HOARD leases held"
check_eq "$ALLOWED, over her quota, gets LimitsExceeded on a new connection too" \
        "$(call "$ALLOWED" /org/vfio/Tokend1 org.vfio.Tokend1.Manager AcquireToken 'sa{sv}' "$VF" 0)" "$E_LIMITS"
check_eq "carol is served meanwhile" \
        "$(call carol /org/vfio/Tokend1 org.vfio.Tokend1.Manager AcquireToken 'sa{sv}' "$OTHER_VF" 0)" ok
check_eq "so is root" "$(call root /org/vfio/Tokend1 org.vfio.Tokend1.Manager AcquireToken 'sa{sv}' "$VF" 0)" ok
check_pending_free "with the hoard held" "$REFUSED" AccessDenied

flood_release hoard
check "when the hoarder leaves, every lease ends" wait_until no_leases
check_pending_free "after the hoard" "$ALLOWED" ok
adv_after "the hoard"
adv_no_token_leaks
