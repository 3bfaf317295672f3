#!/bin/bash
# `vfio-tokenctl qemu` with the daemon on the kernel model, a real bus and polkitd, and a fake
# QEMU that records its command line, its environment and the -readconfig sections it inherits,
# opens the VFs with the tokens it found there (the kernel model judges them) and then waits
# holding what it inherited: the tokens reach QEMU in no argv and no environment; each device's
# lease has QEMU's pid (vfio-tokenctl execs it in place) and ends when QEMU is killed; JSON and
# key=value -device options both work, the devices QEMU gets keep all their properties; nothing
# without a device that needs a token touches the bus; a refused user's QEMU, a PF the daemon
# does not manage, a daemon that is not running and a QEMU too old for vf-token all stop before
# QEMU starts, with one line and the documented exit code.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

VF1=0000:01:00.1
VF2=0000:01:00.2
OTHER_VF=0000:02:00.1 # of a PF on vfio-pci that the daemon is not told to manage

make_fixture "$FX"
# The VFs' group nodes go to the VMM's users, as libvirt hands them to its QEMU.
chmod 0666 "$FX"/dev/vfio/[0-9]*
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF
EOF
start_monitor
start_tokend
PF=$(pf_path "$TK_PF")
# The client reads the fixture's sysfs, as the daemon does.
export VFIO_TOKEND_SYSFS_ROOT=$FX/sys

# The fake QEMU: `-version` prints $FAKE_QEMU_VERSION (default 10.0.2); otherwise it writes to
# $FAKE_QEMU_OUT/: argv (one argument a line), cmdline and environ (its own, from /proc), pid,
# config.N (each -readconfig file, read as QEMU reads it), open.HOST (what opening each VF of a
# section with its token gives), then "ready", and waits holding what it inherited (exec, so no
# child keeps the bus connection open once it is killed).
FAKE=$TK_TMP/bin/fake-qemu
cat >"$FAKE" <<'EOF'
#!/bin/bash
set -eu
if [[ ${1:-} == -version ]]; then
        echo "QEMU emulator version ${FAKE_QEMU_VERSION:-10.0.2} (fake)"
        exit 0
fi
out=$FAKE_QEMU_OUT
printf '%s\n' "$@" >"$out/argv"
cp /proc/$$/cmdline "$out/cmdline"
cp /proc/$$/environ "$out/environ"
echo $$ >"$out/pid"
n=0
prev=
for arg; do
        if [[ $prev == -readconfig ]]; then
                n=$((n + 1))
                cat "$arg" >"$out/config.$n"
                host=$(sed -n 's/^ *host = "\(.*\)"$/\1/p' "$out/config.$n")
                token=$(sed -n 's/^ *vf-token = "\(.*\)"$/\1/p' "$out/config.$n")
                "$FAKE_QEMU_KOPEN" "$FAKE_QEMU_DEV" "$host" "$token" >"$out/open.$host" 2>&1 || true
        fi
        prev=$arg
done
touch "$out/ready"
exec sleep infinity
EOF
chmod 0755 "$FAKE"
export FAKE_QEMU_KOPEN=$KOPEN FAKE_QEMU_DEV=$FX/dev

n_run=0
new_out() {
        n_run=$((n_run + 1))
        OUT=$TK_TMP/qemu-$n_run
        install -d -m 0777 "$OUT"
}

# qemu_bg USER ARGS...: `vfio-tokenctl qemu fake-qemu ARGS...` as USER in the background; sets
# QPID (also the fake QEMU's pid) and OUT (its directory); returns once the fake QEMU is ready.
qemu_bg() {
        local user=$1
        shift
        new_out
        FAKE_QEMU_OUT=$OUT run_as_bg "$user" "$TOKENCTL" --no-ask-password qemu "$FAKE" "$@" 2>"$OUT/stderr"
        QPID=$TK_LAST_PID
        wait_until qemu_ready_or_gone || tk_die "the fake QEMU of run $n_run did not get ready"
        [[ -e $OUT/ready ]] || tk_log "run $n_run: vfio-tokenctl said: $(cat "$OUT/stderr")"
}

# qemu_run USER ARGS...: the same in the foreground, for a run that is to fail; QRC is its exit
# code, its stderr in $OUT/stderr.
qemu_run() {
        local user=$1
        shift
        new_out
        QRC=0
        FAKE_QEMU_OUT=$OUT run_as "$user" "$TOKENCTL" --no-ask-password qemu "$FAKE" "$@" 2>"$OUT/stderr" ||
                QRC=$?
}

qemu_ready_or_gone() {
        [[ -e $OUT/ready ]] || ! tk_alive "$QPID"
}

# The lease paths the PF lists.
leases() {
        prop "$PF" "$IFACE_PF" Leases | cut -d' ' -f3- | tr -d '"'
}

# The PID of each lease, sorted, one line.
lease_pids() {
        local l
        for l in $(leases); do
                prop "$l" "$IFACE_LEASE" PID | awk '{ print $2 }'
        done | sort | tr '\n' ' ' | sed 's/ $//'
}

# Whether any process has one of the tokens (in file $1) in its command line or environment.
# grep reads the tokens from the file: they are in no command line of ours either.
token_in_proc() {
        local p f
        for p in /proc/[0-9]*; do
                for f in cmdline environ; do
                        if grep -qaF -f "$1" "$p/$f" 2>/dev/null; then
                                echo "${p#/proc/} $f: $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)"
                                return 0
                        fi
                done
        done
        return 1
}

config_value() { # FILE KEY
        sed -n "s/^ *$2 = \"\(.*\)\"\$/\1/p" "$1"
}

stop_qemu() {
        kill -KILL "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
}

# =============================================================================================
# Nothing that needs a token: QEMU runs as it was asked to, and the bus is never used (it is not
# even reachable here).
qemu_bg alice -M q35 -device e1000,id=n0 -device vfio-pci,host=0000:05:00.0 -S
check "no device that needs a token: the fake QEMU runs" test -e "$OUT/ready"
check_eq "... with its command line unchanged" "$(cat "$OUT/argv")" \
        "$(printf '%s\n' -M q35 -device e1000,id=n0 -device vfio-pci,host=0000:05:00.0 -S)"
check_eq "... in place (same pid)" "$(cat "$OUT/pid")" "$QPID"
stop_qemu
OUT_BEFORE=$OUT
DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent qemu_bg alice -device vfio-pci,host=0000:05:00.0
check "... and without a bus at all" test -e "$OUT/ready"
stop_qemu
check_eq "... no lease was taken" "$(leases)" ""
check_fails "... and no token went anywhere" grep -qE "$UUID_RE" "$OUT_BEFORE/argv" "$OUT/argv"

# =============================================================================================
# key=value: one VF behind a root port; every property kept, the id too.
gen=$(generation "$PF")
qemu_bg alice -M q35 -nodefaults -display none -S \
        -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0 \
        -device vfio-pci,host=$VF1,id=hostdev0,bus=rp1,addr=0x0,romfile=/a,,b.rom \
        -m 64
check "key=value: the fake QEMU runs" test -e "$OUT/ready"
check_eq "... with vfio-tokenctl's pid" "$(cat "$OUT/pid")" "$QPID"
check_eq "... the vfio-pci device became a -readconfig of an inherited fd, in its place" \
        "$(sed 's|^/proc/self/fd/[0-9]*$|/proc/self/fd/N|' "$OUT/argv" | tr '\n' ' ')" \
        "-M q35 -nodefaults -display none -S -device pcie-root-port,id=rp1,chassis=1,bus=pcie.0 -readconfig /proc/self/fd/N -m 64 "
cfg=$OUT/config.1
check_eq "... its section keeps its id" "$(grep '^\[' "$cfg")" '[device "hostdev0"]'
check_eq "... and every property" \
        "$(config_value "$cfg" driver) $(config_value "$cfg" host) $(config_value "$cfg" bus) $(config_value "$cfg" addr) $(config_value "$cfg" romfile)" \
        "vfio-pci $VF1 rp1 0x0 /a,b.rom"
token=$(config_value "$cfg" vf-token)
seen "$token"
check_eq "... and the PF's token as vf-token" "$token" "$(model_token "$TK_PF")"
check_eq "the fake QEMU opens $VF1 with it" "$(cat "$OUT/open.$VF1")" OK
echo "$token" >"$TK_TMP/tokens"
check_fails "the token is in no process's command line or environment" token_in_proc "$TK_TMP/tokens"
check_fails "... nor in the fake QEMU's own (as /proc showed it to QEMU)" \
        grep -qaF -f "$TK_TMP/tokens" "$OUT/cmdline" "$OUT/environ"
check_eq "one lease is held, with QEMU's pid" "$(lease_pids)" "$QPID"
lease=$(leases)
check_eq "... owned by QEMU's bus connection (inherited from vfio-tokenctl)" \
        "$(prop "$lease" "$IFACE_LEASE" Owner)" "s \"$(bus_name_of_pid "$QPID")\""
check_eq "... for alice" "$(prop "$lease" "$IFACE_LEASE" UID)" "u $(id -u alice)"
check "QEMU holds the bus connection open (fd without O_CLOEXEC)" test -n "$(bus_name_of_pid "$QPID")"
stop_qemu
check "killing QEMU ends the lease" wait_until leases_are "$PF" 0
check_eq "no rotation (RotateWhenIdle is off)" "$(generation "$PF")" "$gen"

# =============================================================================================
# JSON, as libvirt writes it: two VFs behind a JSON root port (which becomes key=value, so that
# QEMU still creates it before them), a JSON device after them (left as it is), one lease each.
rp='{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","multifunction":true,"addr":"0x1"}'
balloon='{"driver":"virtio-balloon-pci","id":"balloon0","bus":"pcie.0"}'
qemu_bg alice -S -device "$rp" \
        -device "{\"driver\":\"vfio-pci\",\"host\":\"$VF1\",\"id\":\"hostdev0\",\"bus\":\"pci.1\",\"addr\":\"0x0\"}" \
        --device="{\"driver\":\"vfio-pci\",\"host\":\"$VF2\",\"bus\":\"pci.1\",\"addr\":\"0x0.0x1\",\"rombar\":0}" \
        -device "$balloon"
check "JSON: the fake QEMU runs" test -e "$OUT/ready"
readarray -t argv <"$OUT/argv"
check_eq "... the JSON root port before the VFs is now key=value" "${argv[1]} ${argv[2]}" \
        "-device driver=pcie-root-port,port=8,chassis=1,id=pci.1,bus=pcie.0,multifunction=on,addr=0x1"
check_eq "... both VFs are -readconfig options, in their places" "${argv[3]} ${argv[5]}" "-readconfig -readconfig"
check_eq "... the JSON device after them is unchanged" "${argv[7]} ${argv[8]}" "-device $balloon"
check_eq "... nothing else" "${#argv[@]}" 9
check_eq "... the first section keeps libvirt's id" "$(grep '^\[' "$OUT/config.1")" '[device "hostdev0"]'
check_eq "... the second gets one made from its address" "$(grep '^\[' "$OUT/config.2")" \
        '[device "vfio-tokend-0000_01_00.2"]'
check_eq "... with its properties (rombar a number in JSON)" \
        "$(config_value "$OUT/config.2" host) $(config_value "$OUT/config.2" addr) $(config_value "$OUT/config.2" rombar)" \
        "$VF2 0x0.0x1 0"
t1=$(config_value "$OUT/config.1" vf-token)
t2=$(config_value "$OUT/config.2" vf-token)
seen "$t1"
check_eq "... both with the PF's token" "$t1 $t2" "$(model_token "$TK_PF") $(model_token "$TK_PF")"
check_eq "the fake QEMU opens both VFs with it" "$(cat "$OUT/open.$VF1") $(cat "$OUT/open.$VF2")" "OK OK"
echo "$t1" >"$TK_TMP/tokens"
check_fails "the token is in no process's command line or environment" token_in_proc "$TK_TMP/tokens"
check_eq "two leases, both with QEMU's pid" "$(lease_pids)" "$QPID $QPID"
stop_qemu
check "killing QEMU ends both" wait_until leases_are "$PF" 0

# A device that has its vf-token on the command line already is the caller's business.
qemu_bg alice -device "vfio-pci,host=$VF1,vf-token=$t1"
check "a device with vf-token= of its own: QEMU runs" test -e "$OUT/ready"
check_eq "... with it unchanged" "$(cat "$OUT/argv")" "$(printf '%s\n' -device "vfio-pci,host=$VF1,vf-token=$t1")"
check_eq "... and no lease" "$(leases)" ""
stop_qemu

# =============================================================================================
# Refusals: QEMU never starts, one line says why, the exit code says what.
qemu_run bob -device "vfio-pci,host=$VF1" -device "vfio-pci,host=$VF2"
check_eq "bob (refused by polkit): exit 3" "$QRC" 3
check_fails "... QEMU never started" test -e "$OUT/argv"
msg=$(cat "$OUT/stderr")
check_eq "... one line" "$(wc -l <<<"$msg")" 1
check_contains "... naming the device" "$msg" "vfio-pci device $VF1"
check_contains "... its PF" "$msg" "(PF $TK_PF)"
check_contains "... and the authorisation" "$msg" "Not authorised"
check_eq "... no lease is left" "$(leases)" ""

qemu_run alice -device "vfio-pci,host=$VF1" -device "vfio-pci,host=$OTHER_VF"
check_eq "a VF of a PF the daemon does not manage: exit 4" "$QRC" 4
check_fails "... QEMU never started" test -e "$OUT/argv"
check_contains "... the line names the device and the PF" "$(cat "$OUT/stderr")" \
        "vfio-pci device $OTHER_VF (PF $TK_OTHER_PF)"
check "... and the lease taken for the first device ended with vfio-tokenctl" wait_until leases_are "$PF" 0

for v in 8.1.2 7.2.0; do
        FAKE_QEMU_VERSION=$v qemu_run alice -device "vfio-pci,host=$VF1"
        check_eq "QEMU $v: exit 1" "$QRC" 1
        check_fails "... it never started" test -e "$OUT/argv"
        check_contains "... and the line says why" "$(cat "$OUT/stderr")" "is QEMU $v, which"
done
check_eq "... no lease was taken" "$(leases)" ""

stop_daemon
qemu_run alice -device "vfio-pci,host=$VF1"
check_eq "the daemon not running: exit 7" "$QRC" 7
check_fails "... QEMU never started" test -e "$OUT/argv"
check_contains "... the line names the device" "$(cat "$OUT/stderr")" "vfio-pci device $VF1 (PF $TK_PF)"
start_tokend

check_no_token_leaks
