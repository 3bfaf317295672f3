#!/bin/bash
# The walkthrough of tools/demo.sh: vfio-tokend on the kernel model (no SR-IOV hardware), with a
# real dbus-daemon and a real polkitd on a private system bus, inside a private mount namespace.
# Each step prints "USER$ COMMAND" and then the command's real output. Needs root and a built
# tree: top_srcdir and top_builddir say where (tools/demo.sh sets them).
#
# It uses the integration-test harness (tests/integration/lib.sh, tokend-lib.sh): users alice
# (group kvm-test) and bob, the test polkit rule (tests/integration/rules/50-test.rules: group
# kvm-test may have the tokens of PF 0000:01:00.0), and a fake sysfs/dev tree the daemon, linked
# against the kernel model, takes for the machine's. Nothing outside the namespace changes except
# a directory in /tmp, removed at the end (TK_KEEP=1 keeps it). Exits 0 if every step did what
# it shows, else 1 (and says which did not).
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

ABSENT_PF=0000:05:00.0 # configured, but not in this machine
VF1=0000:01:00.1
VF2=0000:01:00.2

# tokend_init copied the programs to $TK_TMP/bin, first in PATH: the demo runs them by name, so
# the commands shown are the commands run, with paths relative to $TK_TMP.
cd "$TK_TMP"

# ---------------------------------------------------------------------------
# Presentation.

bold=
plain=
if [[ -t 1 ]]; then
        bold=$'\e[1m'
        plain=$'\e[0m'
fi

# step TEXT...: a heading saying what the next commands show.
step() {
        printf '\n%s== %s%s\n' "$bold" "$*" "$plain"
}

# note TEXT...: a line of explanation.
note() {
        printf '   %s\n' "$*"
}

# The command line as one would type it: words that need it in single quotes.
quote_cmd() {
        local w out=
        for w in "$@"; do
                if [[ $w =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then
                        out+=" $w"
                else
                        out+=" '${w//\'/\'\\\'\'}'"
                fi
        done
        printf '%s' "${out# }"
}

# prompt USER TEXT: a command line as shown, for commands the demo runs its own way.
prompt() {
        printf '%s%s$ %s%s\n' "$bold" "$1" "$2" "$plain"
}

# show USER CMD...: print "USER$ CMD", run CMD as USER, print its output (stdout and stderr)
# and its exit status if not 0. Leaves them in OUT and RC, and records any token in the output
# (for the log check at the end).
show() {
        local user=$1
        shift
        prompt "$user" "$(quote_cmd "$@")"
        RC=0
        if [[ $user == root ]]; then
                OUT=$("$@" 2>&1) || RC=$?
        else
                OUT=$(run_as "$user" "$@" 2>&1) || RC=$?
        fi
        [[ -z $OUT ]] || printf '%s\n' "$OUT"
        ((RC == 0)) || printf '(exit status %d)\n' "$RC"
        seen "$OUT"
}

# expect DESC CMD...: the demo checks what it shows; a surprise is said, and fails the demo.
expect() {
        local desc=$1
        shift
        if "$@"; then
                tk_result 1 "$desc" >/dev/null
        else
                tk_result 0 "$desc" >/dev/null
                printf '!! UNEXPECTED: not so: %s\n' "$desc"
        fi
}

is_token() {
        grep -qxE "$UUID_RE" <<<"$1"
}

no_token() {
        ! grep -qE "$UUID_RE" <<<"$1"
}

# ---------------------------------------------------------------------------
step "The machine: a private system bus with a real dbus-daemon and polkitd"
note "alice is in group kvm-test, which the polkit rule lets have the tokens of $TK_PF; bob is not."
show root id alice
show root id bob

step "A fake sysfs/dev tree: PF $TK_PF on vfio-pci with 2 of its 4 VFs enabled"
"$MKFIXTURE" "$FX" pf "$TK_PF" vfio-pci 4 2 10 >/dev/null
chmod 0666 "$FX/dev/vfio/vfio"
install -d -m 0777 "$FX/dev/vfio/.kmodel"
show root ls fixture/sys/bus/pci/devices/
note "PF $ABSENT_PF is configured too, but not in the machine (unplugged, say)."
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF

[PhysicalFunction]
Address=$ABSENT_PF
EOF
show root cat tokend.conf

step "Start the daemon as root: it sets the PFs up, sets a fresh token, then drops to vfio-tokend"
note "(vfio-tokend-model is vfio-tokend linked against the kernel model; output goes to daemon.log)"
daemon=(env VFIO_TOKEND_SYSFS_ROOT=fixture/sys VFIO_TOKEND_DEV_ROOT=fixture/dev
        vfio-tokend-model --config=tokend.conf --state-dir=state)
prompt root "$(quote_cmd "${daemon[@]}") >>daemon.log 2>&1 &"
start_daemon "${daemon[@]}"
note "it is on the bus as $TK_BUS_NAME (pid $TK_DAEMON_PID)"

step "What it manages: anyone may look"
show bob vfio-tokenctl list
expect "list shows the absent PF as gone" grep -q "$ABSENT_PF.*gone" <<<"$OUT"
show bob vfio-tokenctl status "$TK_PF"
expect "the PF is ready" grep -q 'ready' <<<"$OUT"

step "alice gets the token of a VF (polkit says yes); her VMM opens the VF with it"
show alice vfio-tokenctl acquire "$VF1"
token=$OUT
expect "alice gets a token" is_token "$token"
note "The VMM (QEMU: -device vfio-pci,host=$VF1,vf-token=...) asks the kernel for the VF:"
show root kmodel-open fixture/dev "$VF1" "$token"
expect "the token opens the VF" test "$OUT" = OK
note "... and without the token the kernel refuses:"
show root kmodel-open fixture/dev "$VF1"
expect "no token: EACCES" test "$OUT" = EACCES

step "bob asks too: polkit says no"
show bob vfio-tokenctl acquire "$VF1"
expect "bob is refused with exit status 3" test "$RC" = 3
expect "bob gets no token" no_token "$OUT"
expect "bob gets one line of error" test "$(wc -l <<<"$OUT")" = 1

step "vfio-tokenctl exec: the VMM gets the token in VFIO_VF_TOKEN, and a lease while it runs"
# shellcheck disable=SC2016 # expanded by the command's shell
show alice vfio-tokenctl exec "$VF2" -- sh -c 'echo "VMM sees VFIO_VF_TOKEN=$VFIO_VF_TOKEN"; vfio-tokenctl leases'
expect "exec passes the token" grep -qF "VFIO_VF_TOKEN=$token" <<<"$OUT"
expect "exec holds a lease while the command runs" grep -qF "$VF2" <<<"$(sed 1d <<<"$OUT")"
note "The command has exited: its lease is gone."
show bob vfio-tokenctl leases

step "Rotation: a new token, while alice holds a lease (acquire --hold, as a running VM does)"
run_as_bg alice vfio-tokenctl acquire "$VF1" --hold >"$TK_TMP/hold.out" 2>&1
holder=$TK_LAST_PID
wait_until grep -qE "$UUID_RE" "$TK_TMP/hold.out" || tk_die "acquire --hold gave no token"
seen "$(cat "$TK_TMP/hold.out")"
prompt alice "vfio-tokenctl acquire $VF1 --hold >hold.out &"
note "(pid $holder; it printed the token and holds the lease until it is stopped)"
show root vfio-tokenctl leases
show root vfio-tokenctl rotate "$TK_PF"
expect "rotation with a lease held is refused (Busy, exit status 5)" test "$RC" = 5
show root vfio-tokenctl rotate "$TK_PF" --force
expect "the forced rotation gives generation 2" test "$OUT" = 2
show bob vfio-tokenctl status "$TK_PF"
expect "status shows generation 2" grep -qE 'Generation.*\b2\b' <<<"$OUT"
note "The old token opens no VF any more; alice asks again and gets the new one:"
show root kmodel-open fixture/dev "$VF2" "$token"
expect "the old token is refused" test "$OUT" = EACCES
show alice vfio-tokenctl acquire "$VF2"
new=$OUT
expect "alice gets the new token" is_token "$new"
expect "the new token differs" test "$new" != "$token"
show root kmodel-open fixture/dev "$VF2" "$new"
expect "the new token opens the VF" test "$OUT" = OK
tk_stop_pid "$holder"
wait_until leases_are "$(pf_path "$TK_PF")" 0 || tk_die "alice's held lease did not end"
note "alice's held lease ended with its process (kill $holder)."
show bob vfio-tokenctl leases

step "The daemon runs as user vfio-tokend, with no capabilities"
show root ps -o user:12,group:12,pid,args -p "$TK_DAEMON_PID"
expect "the daemon runs as vfio-tokend" grep -q '^vfio-tokend ' <<<"$(sed 1d <<<"$OUT")"
show root grep -E '^(Uid|CapEff|CapPrm)' "/proc/$TK_DAEMON_PID/status"

step "Stop it (SIGTERM); its log: every grant, refusal, lease and rotation, and never a token"
prompt root "kill $TK_DAEMON_PID"
stop_daemon TERM
expect "the daemon exits 0 on SIGTERM" test "$TK_DAEMON_STATUS" = 0
note "it exited with status $TK_DAEMON_STATUS"
show root cat daemon.log
# Every token printed above, in text or bare hex form, searched for in the daemon's log.
leaked=0
n=0
while read -r t; do
        n=$((n + 1))
        if grep -qiF -e "$t" -e "${t//-/}" "$TK_DAEMON_LOG"; then
                leaked=$((leaked + 1))
                printf '!! token %s is in the log\n' "$t"
        fi
done < <(sort -u "$SEEN")
expect "the demo saw tokens" test "$n" -gt 0
expect "no token is in the log" test "$leaked" = 0
note "The demo saw $n different tokens; $leaked of them appear in daemon.log."

step "Done: the daemon, polkitd and the bus stop, the mounts go, the directory is removed"
