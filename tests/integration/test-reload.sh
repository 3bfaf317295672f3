#!/bin/bash
# Reloading the configuration (SIGHUP, systemctl reload) and the signals that must not stop the
# daemon, on the kernel model with a real bus and polkitd: a PF added is set up and served, a PF
# removed is let go (its leases end), changed policy applies, a PF that stays is never reopened
# and keeps its token and its leases; a bad configuration is refused with file:line and the
# running one kept; SIGPIPE does nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

VF1=0000:01:00.1
OTHER_VF1=0000:02:00.1

# How many reloads the daemon has finished, well or not.
reloads() {
        grep -cE "Configuration reloaded|keeping the running one" "$TK_DAEMON_LOG" || true
}
reloads_more_than() {
        (($(reloads) > $1))
}
reload_and_wait() {
        local before
        before=$(reloads)
        kill -HUP "$TK_DAEMON_PID"
        wait_until reloads_more_than "$before" || tk_die "no reload: $(tail -n 5 "$TK_DAEMON_LOG")"
}
list_pfs() {
        busctl --system call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager ListPhysicalFunctions
}

make_fixture "$FX"
printf '[PhysicalFunction]\nAddress=%s\n' "$TK_PF" >"$CONF"

start_monitor
start_tokend
PF=$(pf_path "$TK_PF")
gen=$(generation "$PF")
hold alice "$VF1" "$TK_TMP/hold-a.out"
check_eq "alice holds a lease on $TK_PF" "$(lease_count "$PF")" 1
token=$(grep -oE "$UUID_RE" "$TK_TMP/hold-a.out" | head -n 1)
seen "$token"
check_eq "carol may not get a token of the unconfigured $TK_OTHER_PF" \
        "$(call carol /org/vfio/Tokend1 org.vfio.Tokend1.Manager AcquireToken 'sa{sv}' \
                "$OTHER_VF1" 0)" "org.vfio.Tokend1.Error.NoSuchDevice"

# --- SIGPIPE, and SIGHUP with an unchanged configuration: nothing changes.
kill -PIPE "$TK_DAEMON_PID"
reload_and_wait
check "SIGPIPE and SIGHUP leave the daemon running" tk_alive "$TK_DAEMON_PID"
check_contains "SIGHUP reloads" "$(cat "$TK_DAEMON_LOG")" "Configuration reloaded: 1 PF(s)."
check_eq "the lease stays" "$(lease_count "$PF")" 1

# --- A PF added, a policy changed.
printf '[Daemon]\nMaxPendingChecksPerUser=4\n\n[PhysicalFunction]\nAddress=%s\nRotateIntervalSec=1d\n\n[PhysicalFunction]\nAddress=%s\n' \
        "$TK_PF" "$TK_OTHER_PF" >"$CONF"
reload_and_wait
OTHER=$(pf_path "$TK_OTHER_PF")
# Its group node is still root's: the daemon cannot open it until the root half hands it over.
check_eq "a new PF whose node is not handed over yet is gone" "$(prop "$OTHER" "$IFACE_PF" State)" 's "gone"'
check_contains "... and says why" "$(prop "$OTHER" "$IFACE_PF" StateReason)" "ermission"
check_contains "vfio-tokenctl status shows the reason" "$(tokenctl root status "$TK_OTHER_PF" 2>&1)" "ermission"
rc=0
tokenctl bob --no-ask-password retry "$TK_OTHER_PF" >/dev/null 2>&1 || rc=$?
check_eq "bob may not ask for a retry (polkit: rotate-token)" "$rc" 3
chown vfio-tokend "$FX/dev/vfio/20" # what `vfio-tokend --setup` (root) does for a new PF
check_eq "after the setup, vfio-tokenctl retry brings it up at once" "$(tokenctl root retry "$TK_OTHER_PF" 2>&1)" ready
check_eq "the added PF is listed" "$(list_pfs)" "a(so) 2 \"$TK_PF\" \"$PF\" \"$TK_OTHER_PF\" \"$OTHER\""
check_eq "... and ready" "$(prop "$OTHER" "$IFACE_PF" State)" 's "ready"'
out=$(tokenctl carol acquire "$OTHER_VF1" 2>/dev/null) || true
seen "$out"
check_eq "carol gets its token" "$(model_token "$TK_OTHER_PF")" "$out"
check_eq "the PF that stayed was not reopened" "$(grep -c "PF $TK_PF: Ready (group API" "$TK_DAEMON_LOG")" 1
check_eq "... keeps its token generation" "$(generation "$PF")" "$gen"
check_eq "... and the kernel its token" "$(model_token "$TK_PF")" "$token"
check_eq "... and its lease" "$(lease_count "$PF")" 1
check_contains "the new interval applies" "$(cat "$TK_DAEMON_LOG")" "PF $TK_PF: Rotation interval now 86400 s."

# --- A bad configuration: logged with file and line, the running one kept.
printf '[PhysicalFunction]\nAddress=%s\nNumVFs=lots\n' "$TK_PF" >"$CONF"
reload_and_wait
check_contains "the bad line is named" "$(cat "$TK_DAEMON_LOG")" "$CONF:3: NumVFs=lots"
check_contains "... and the running configuration kept" "$(cat "$TK_DAEMON_LOG")" "keeping the running one"
check "the daemon runs on" tk_alive "$TK_DAEMON_PID"
check_eq "both PFs are still served" "$(list_pfs)" "a(so) 2 \"$TK_PF\" \"$PF\" \"$TK_OTHER_PF\" \"$OTHER\""

# --- A PF removed: its leases end, its object goes, the other one is untouched.
printf '[PhysicalFunction]\nAddress=%s\n' "$TK_OTHER_PF" >"$CONF"
reload_and_wait
check_contains "the removed PF is let go" "$(cat "$TK_DAEMON_LOG")" "PF $TK_PF: No longer configured"
check_contains "... its lease ended" "$(cat "$TK_DAEMON_LOG")" "(PF removed from the configuration)"
check_eq "... its object is gone" "$(list_pfs)" "a(so) 1 \"$TK_OTHER_PF\" \"$OTHER\""
check_eq "... alice's VF is no longer a managed device" \
        "$(call alice /org/vfio/Tokend1 org.vfio.Tokend1.Manager AcquireToken 'sa{sv}' "$VF1" 0)" \
        "org.vfio.Tokend1.Error.NoSuchDevice"
check_eq "the other PF is still ready" "$(prop "$OTHER" "$IFACE_PF" State)" 's "ready"'
check "the daemon runs on" tk_alive "$TK_DAEMON_PID"

check_no_token_leaks
