#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Adversarial case e: the bus daemon dies (SIGKILL) while the daemon holds leases and has polkit
# checks running. Losing the bus is fatal: the daemon exits by itself, with a non-zero status (not
# killed by a signal: no crash), and says in its log that it lost the bus.
set -euo pipefail
. "$(dirname "$0")/adv-lib.sh"
harness_enter_namespace "$@"

adv_start

# Leases held, and checks that polkitd (stopped) leaves unanswered.
flood_hold held "$ALLOWED" --connections=2 --calls=4 "$VF"
check_eq "$ALLOWED holds 8 leases" "$(flood_summary held)" "sent=8 ok=8"
check "polkitd is stopped" kill -STOP "$TK_POLKITD_PID"
flood_bg pending "$REFUSED" --connections=1 --calls=8 --timeout=60 "$VF"
sleep 1 # not needed for the outcome: without it, fewer checks are running when the bus dies
log_lines=$(wc -l <"$TK_DAEMON_LOG")

check "dbus-daemon is killed" kill -KILL "$TK_BUS_PID"
daemon_gone() {
        ! tk_alive "$TK_DAEMON_PID"
}
rc=0
if wait_until daemon_gone; then
        { wait "$TK_DAEMON_PID"; } 2>/dev/null || rc=$?
else
        tk_log "the daemon is still running without a bus: killing it"
        tk_stop_pid "$TK_DAEMON_PID" KILL
        rc=running
fi
TK_DAEMON_PID=
check_fails "the daemon exits when the bus is gone" test "$rc" = running
check "... with a non-zero status ($rc)" test "$rc" != running -a "$rc" != 0
check "... of its own: not killed by a signal ($rc)" test "$rc" != running -a "${rc/running/0}" -lt 128
lost=$(tail -n +$((log_lines + 1)) "$TK_DAEMON_LOG")
tk_log "the daemon's last words: $(tail -n 3 <<<"$lost" | tr '\n' ' ')"
check "... and logs that it lost the bus" \
        grep -qiE '(lost|lose|losing|disconnected from|connection to).*bus|bus.*(lost|disconnected|closed|went away|gone)' \
        <<<"$lost"

# The clients lose their connections too; they stop by themselves.
kill -CONT "$TK_POLKITD_PID" 2>/dev/null || true
flood_release held
flood_wait pending
check "the flood's calls were all answered (by sd-bus, for the lost connection)" \
        grep -qx 'done' "$(flood_out pending)"
adv_no_token_leaks
