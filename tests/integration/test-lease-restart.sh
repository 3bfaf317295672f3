#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Leases across a restart of the daemon, on the kernel model with a real bus and polkitd: a
# lease whose owner is still connected comes back with the same id and object path after a
# clean stop (SIGTERM) and after kill -9; a lease whose owner left while the daemon was down is
# dropped, with a line saying why, and RotateWhenIdle applies to the PF left idle; the leases
# file holds no token and is 0600.
set -euo pipefail
. "$(dirname "$0")/../adversarial/adv-lib.sh"
harness_enter_namespace "$@"
harness_start
adv_init

VF1=0000:01:00.1
OTHER_VF1=0000:02:00.1

make_fixture "$FX"
printf '[PhysicalFunction]\nAddress=%s\n\n[PhysicalFunction]\nAddress=%s\nRotateWhenIdle=yes\n' \
        "$TK_PF" "$TK_OTHER_PF" >"$CONF"
start_monitor
start_tokend
PF=$(pf_path "$TK_PF")
OTHER=$(pf_path "$TK_OTHER_PF")

# leases_of PF-PATH: its Leases property, as busctl prints it.
leases_of() {
        prop "$1" "$IFACE_PF" Leases
}

# n_leases_is PF-PATH N: whether it lists N leases now (for wait_until).
n_leases_is() {
        [[ $(leases_of "$1" | awk '{ print $2 }') == "$2" ]]
}

# alice holds 3 leases on one connection (VF1 of the first PF); carol 1 on the second PF.
flood_hold alice alice --connections=1 --calls=3 "$VF1"
check_eq "alice holds 3 leases" "$(flood_summary alice)" "sent=3 ok=3"
flood_hold carol carol --connections=1 --calls=1 "$OTHER_VF1"
check_eq "carol holds 1" "$(flood_summary carol)" "sent=1 ok=1"
alice_leases=$(leases_of "$PF")
carol_leases=$(leases_of "$OTHER")
gen_other=$(generation "$OTHER")
check_eq "the first PF lists alice's 3" "$(awk '{ print $2 }' <<<"$alice_leases")" 3

# --- A clean restart: every lease comes back, same ids and paths, same owners.
stop_daemon TERM
check_eq "SIGTERM stops the daemon cleanly" "$TK_DAEMON_STATUS" 0
check_eq "the leases file is 0600 and the service user's" "$(stat -c '%a %U' "$STATE/leases")" "600 vfio-tokend"
start_tokend
check_eq "after a restart alice's leases are back, same paths" "$(leases_of "$PF")" "$alice_leases"
check_eq "... and carol's" "$(leases_of "$OTHER")" "$carol_leases"
check_contains "the daemon says so" "$(cat "$TK_DAEMON_LOG")" "Leases from before the restart: 4 restored, 0 dropped."
first=$(awk '{ print $3 }' <<<"$alice_leases" | tr -d '"')
check_eq "a restored lease has its owner's uid" "$(prop "$first" org.vfio.Tokend1.Lease UID)" "u $(id -u alice)"
check_eq "no rotation happened (a restart keeps the token)" "$(generation "$OTHER")" "$gen_other"

# --- New leases get new ids, never one of the restored.
out=$(tokenctl root acquire "$VF1" 2>/dev/null) || true
seen "$out"
newest=$(sed -n 's/^grant granted: uid=0 .* lease=\([0-9]*\)\.$/\1/p' "$TK_DAEMON_LOG" | tail -n 1)
check "a new lease's id ($newest) is above every restored one" \
        test "${newest:-0}" -gt "$(awk '{ print $NF }' <<<"$carol_leases" | tr -d '"' | sed 's|.*/||')"

# --- kill -9: the leases on disk are at most 100 ms behind; after that they come back too.
sleep 0.3
stop_daemon KILL
start_tokend
check_eq "after kill -9 alice's leases are back" "$(leases_of "$PF" | awk '{ print $2 }')" 3
check_eq "... and carol's" "$(leases_of "$OTHER")" "$carol_leases"

# --- An owner that leaves while the daemon is down: dropped at start; the PF is idle then.
stop_daemon TERM
flood_release carol
start_tokend
check_eq "carol's lease, whose owner left, is dropped" "$(leases_of "$OTHER")" "ao 0"
check_contains "... saying why" "$(cat "$TK_DAEMON_LOG")" "dropped: its owner left the bus"
check "RotateWhenIdle rotated the PF she left idle" test "$(generation "$OTHER")" -gt "$gen_other"
check_eq "alice's leases are untouched" "$(leases_of "$PF" | awk '{ print $2 }')" 3

# --- Damaged: a leases file that is not one restores nothing and stops nothing.
stop_daemon TERM
echo "not a leases file" >"$STATE/leases"
start_tokend
check_contains "a damaged leases file is reported" "$(cat "$TK_DAEMON_LOG")" "leases file in $STATE is damaged"
check_eq "... and nothing restored from it" "$(leases_of "$PF")" "ao 0"
check "the daemon serves on" acquire_works

flood_release alice

# --- vfio-tokenctl acquire --hold and exec notice nothing of a restart that keeps their leases.
hold alice "$VF1" "$TK_TMP/hold.out"
hold_pid=$TK_LAST_PID
run_as_bg alice "$TOKENCTL" --no-ask-password exec "$VF1" -- sleep 600 >"$TK_TMP/exec.out" 2>&1
exec_pid=$TK_LAST_PID
wait_until n_leases_is "$PF" 2 || tk_die "hold/exec got no leases"
before=$(leases_of "$PF")
sleep 0.3 # the leases on disk
stop_daemon TERM
start_tokend
check_eq "after a restart the leases of --hold and exec are back" "$(leases_of "$PF")" "$before"
check "--hold still runs" tk_alive "$hold_pid"
check "exec's command still runs" tk_alive "$exec_pid"
check_eq "... and neither said a word" "$(grep -c 'came back' "$TK_TMP/hold.out" "$TK_TMP/exec.out" | awk -F: '{ s += $2 } END { print s }')" 0

# --- A restart that loses them (no leases file): they say so and acquire again.
stop_daemon TERM
rm -f "$STATE/leases"
start_tokend
check "--hold says the daemon came back without its lease" wait_until grep -q "came back without lease" "$TK_TMP/hold.out"
check "... and so does exec" wait_until grep -q "came back without lease" "$TK_TMP/exec.out"
check "both hold a lease again" wait_until n_leases_is "$PF" 2
check "--hold still runs" tk_alive "$hold_pid"
check "exec's command still runs" tk_alive "$exec_pid"
tk_stop_pid "$hold_pid"
tk_stop_pid "$exec_pid"
check "when they end, their leases end" wait_until n_leases_is "$PF" 0
check "no token in the leases file" bash -c "! grep -qE '$UUID_RE' '$STATE/leases'"
check_no_token_leaks
