#!/bin/bash
# Self-test of the integration harness: the private bus, polkitd with the project's actions
# and the test rules, the test users and groups, and the project's bus policy. If this
# fails, every other integration test's answer means nothing.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
harness_enter_namespace "$@"
harness_start

acquire=org.vfio.tokend.acquire-token
rotate=org.vfio.tokend.rotate-token

# --- Namespace, users and groups.
check_contains "alice is in kvm-test" "$(run_as alice id -Gn)" kvm-test
check_eq "bob has no extra group" "$(run_as bob id -Gn)" bob
check_contains "carol is in other-test" "$(run_as carol id -Gn)" other-test
check_contains "vfio-tokend user exists" "$(getent passwd vfio-tokend)" ":/nonexistent:"
# Our parent runs outside this namespace: its view of /etc must not have the test users.
check "the parent's /etc/passwd is readable" test -r "/proc/$PPID/root/etc/passwd"
check_fails "the parent's /etc/passwd is untouched" \
        grep -q 'vfio-tokend test' "/proc/$PPID/root/etc/passwd"
check_eq "polkitd dropped to user polkitd" \
        "$(awk '/^Uid:/ { print $2 }' "/proc/$TK_POLKITD_PID/status")" "$(id -u polkitd)"

# --- polkitd loaded the project's actions, with the owner annotation.
actions=$(bus_call call org.freedesktop.PolicyKit1 /org/freedesktop/PolicyKit1/Authority \
        org.freedesktop.PolicyKit1.Authority EnumerateActions s "")
check_contains "polkitd knows $acquire" "$actions" "\"$acquire\""
check_contains "polkitd knows $rotate" "$actions" "\"$rotate\""
check_contains "actions are owned by vfio-tokend" "$actions" \
        '"org.freedesktop.policykit.owner" "unix-user:vfio-tokend"'

# --- Rules, with unix-process subjects (pid and start time).
declare -A pid
for u in alice bob carol; do
        run_as_bg "$u" sleep 600
        pid[$u]=$TK_LAST_PID
done
check_eq "alice (kvm-test) may acquire on $TK_PF" \
        "$(polkit_check "$acquire" "pid:${pid[alice]}" pf "$TK_PF")" yes
check_eq "bob may not acquire on $TK_PF" \
        "$(polkit_check "$acquire" "pid:${pid[bob]}" pf "$TK_PF")" no
check_eq "carol (other-test) may not acquire on $TK_PF" \
        "$(polkit_check "$acquire" "pid:${pid[carol]}" pf "$TK_PF")" no
check_eq "carol (other-test) may acquire on $TK_OTHER_PF" \
        "$(polkit_check "$acquire" "pid:${pid[carol]}" pf "$TK_OTHER_PF")" yes
check_eq "alice may not acquire on $TK_OTHER_PF" \
        "$(polkit_check "$acquire" "pid:${pid[alice]}" pf "$TK_OTHER_PF")" no

# --- The same with system-bus-name subjects, as the daemon asks.
declare -A name
for u in alice bob carol; do
        run_as_bus_client_bg "$u"
        name[$u]=$TK_LAST_BUS_NAME
done
check_eq "alice by bus name may acquire on $TK_PF" \
        "$(polkit_check "$acquire" "name:${name[alice]}" pf "$TK_PF" device 0000:01:00.2)" yes
check_eq "bob by bus name may not acquire on $TK_PF" \
        "$(polkit_check "$acquire" "name:${name[bob]}" pf "$TK_PF" device 0000:01:00.2)" no
check_eq "carol by bus name may not acquire on $TK_PF" \
        "$(polkit_check "$acquire" "name:${name[carol]}" pf "$TK_PF" device 0000:01:00.2)" no
check_eq "carol by bus name may acquire on $TK_OTHER_PF" \
        "$(polkit_check "$acquire" "name:${name[carol]}" pf "$TK_OTHER_PF" device 0000:02:00.2)" yes
check_eq "bob's refusal stays a refusal when interactive" \
        "$(polkit_check --interactive "$acquire" "name:${name[bob]}" pf "$TK_PF")" no
check_eq "alice may rotate" "$(polkit_check "$rotate" "name:${name[alice]}" pf "$TK_PF")" yes
check_eq "bob may not rotate" "$(polkit_check "$rotate" "name:${name[bob]}" pf "$TK_PF")" no

# --- The owner annotation lets the unprivileged daemon user ask about others.
check_eq "vfio-tokend may check alice's subject" \
        "$(polkit_check --as vfio-tokend "$acquire" "name:${name[alice]}" pf "$TK_PF")" yes
check_eq "vfio-tokend may check bob's subject" \
        "$(polkit_check --as vfio-tokend "$acquire" "name:${name[bob]}" pf "$TK_PF")" no
check_fails "bob may not check alice's subject" \
        polkit_check --as bob "$acquire" "name:${name[alice]}" pf "$TK_PF"

# --- Bus policy: who may own the daemon's name. Each RequestName's connection closes
# right after the call, which releases the name for the next one.
request_name() {
        local reply
        if [[ $1 == root ]]; then
                reply=$(bus_call call org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus RequestName su "$TK_BUS_NAME" 0 2>/dev/null)
        else
                reply=$(run_as "$1" busctl --system --timeout="$TK_CALL_TIMEOUT" call \
                        org.freedesktop.DBus /org/freedesktop/DBus \
                        org.freedesktop.DBus RequestName su "$TK_BUS_NAME" 0 2>/dev/null)
        fi
        [[ $reply == "u 1" ]]
}
check "root may own $TK_BUS_NAME" request_name root
check "vfio-tokend may own $TK_BUS_NAME" request_name vfio-tokend
check_fails "alice may not own $TK_BUS_NAME" request_name alice
check_fails "bob may not own $TK_BUS_NAME" request_name bob
