#!/bin/bash
# Guest job: real VMMs open a VF of the real vfio-pci with a token the installed vfio-tokend
# brokers, and the token is in no argv or environment. QEMU is the host's (bookworm-backports'
# 10.0, tools/deps.sh), under TCG, started with -S: nothing boots, QMP answers, QEMU is killed.
#  1. `vfio-tokenctl qemu` as alice (allowed by tests/integration/rules/50-test.rules): with a
#     key=value -device, and with JSON ones behind a JSON root port; QMP shows the VFs in QEMU; no
#     process has the token in /proc/*/cmdline or /proc/*/environ; each lease's PID is QEMU's;
#     killing QEMU ends them (and RotateWhenIdle rotates); bob's QEMU never starts;
#  2. the installed emulator wrapper runs the system's QEMU, never itself (PATH, links, no PATH);
#  3. libvirt 11.3 (libvirtd by hand, no systemd) with the installed emulator wrapper as
#     <emulator> and VF .1 as <hostdev managed='no'>, authorised by the installed example rule
#     for libvirt-qemu: `virsh start` works, QMP (virsh qemu-monitor-command) shows the VF, the
#     lease is QEMU's, `virsh destroy` ends it, the token has rotated and a second start works;
#     a domain whose QEMU runs as bob fails to start, the reason in its log.
# Last: no token the test saw is in the daemon's log.
#
# Run by check-vm.sh as `run-vm.sh --share DIR --env VM_DESTDIR=... --env top_builddir=...
# --env top_srcdir=... --env VM_OUT=DIR KERNEL -- job-qemu.sh` (the PF starts on nvme): the
# files `make install DESTDIR=$VM_DESTDIR` staged are copied over the guest's / first.
# Prints "PASS: what" / "FAIL: what" lines; exits non-zero if any check failed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
harness_enter_namespace "$@"

# shellcheck source=tests/vm/job-lib.sh
. "$(dirname "$0")/job-lib.sh"
QEMU=$(command -v qemu-system-x86_64) || tk_die "no qemu-system-x86_64"
DOMAIN_LOG_DIR=/var/log/libvirt/qemu

# --- The installed files (the host's `make install DESTDIR=`), over the guest's /. tar, not
# cp -a: / has directory symlinks (/lib -> usr/lib) and keeps its own modes. -------------------
[[ -d ${VM_DESTDIR:-} ]] || tk_die "VM_DESTDIR is not set"
tar -C "$VM_DESTDIR" -cf - . | tar -C / -xf - --keep-directory-symlink --no-overwrite-dir
installed() { # the path under / of the one installed file matching PATTERN
        (cd "$VM_DESTDIR" && find . -path "$1" | sed 's/^\.//')
}
TOKEND=$(installed '*/sbin/vfio-tokend')
TOKENCTL=$(installed '*/bin/vfio-tokenctl')
WRAPPER=$(installed '*/libexec/vfio-tokend/qemu-system-x86_64')
RULE=$(installed '*/examples/50-vfio-tokend-libvirt.rules.example')

harness_start
trap 'rc=$?; save_logs; (exit $rc); tk_cleanup' EXIT
save_logs() {
        [[ -z ${VM_OUT:-} ]] || cp "$TK_TMP/daemon.log" "$VM_OUT/daemon.log" 2>/dev/null || true
        [[ -z ${VM_OUT:-} ]] || cp -r "$DOMAIN_LOG_DIR" "$VM_OUT/libvirt-qemu-logs" 2>/dev/null || true
        [[ -z ${VM_OUT:-} ]] || cp "$TK_TMP/libvirtd.log" "$VM_OUT/" 2>/dev/null || true
}
for f in "$TOKEND" "$TOKENCTL" "$WRAPPER" "$RULE"; do
        check "installed: ${f:-(missing)}" test -n "$f" -a -e "${f:-/nonexistent}"
done
check_contains "QEMU is 8.1.3 or later (vf-token): $("$QEMU" -version | head -n 1)" \
        "$("$QEMU" -device vfio-pci,help 2>&1)" "vf-token="

SEEN=$TK_TMP/tokens-seen
: >"$SEEN"

tk_gone() {
        ! tk_alive "$1"
}

# The daemon, on the PF that starts on nvme: it binds it and enables 2 VFs; a PF whose last lease
# ends gets a new token.
cat >"$TK_TMP/vfio-tokend.conf" <<EOF
[PhysicalFunction]
Address=$PF
NumVFs=2
BindVFIO=yes
RotateWhenIdle=yes
EOF
start_daemon "$TOKEND" --config="$TK_TMP/vfio-tokend.conf" --state-dir="$TK_TMP/state"
check_eq "the daemon set up $VF1 on vfio-pci" "$(vm_driver "$VF1")" vfio-pci
PF_PATH=$(bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s "$PF" |
        sed -n 's/^o "\(.*\)"$/\1/p')

prop() { # PATH INTERFACE NAME: the value only
        bus_call get-property "$TK_BUS_NAME" "$1" "$2" "$3" 2>/dev/null | cut -d' ' -f2- | tr -d '"'
}
leases() { # "ao N PATH..." as busctl shows it: the paths
        bus_call get-property "$TK_BUS_NAME" "$PF_PATH" org.vfio.Tokend1.PhysicalFunction Leases 2>/dev/null |
                awk '{ for (i = 3; i <= NF; i++) print $i }' | tr -d '"'
}
no_leases() {
        [[ -z $(leases) ]]
}
# "PID UID" of each lease, sorted, one line.
lease_owners() {
        local l
        for l in $(leases); do
                echo "$(prop "$l" org.vfio.Tokend1.Lease PID) $(prop "$l" org.vfio.Tokend1.Lease UID)"
        done | sort | tr '\n' ' ' | sed 's/ $//'
}
generation() {
        prop "$PF_PATH" org.vfio.Tokend1.PhysicalFunction TokenGeneration
}
# The current token, from root's own short-lived lease (no rotation: another lease is held).
current_token() {
        local t
        t=$("$TOKENCTL" --no-ask-password acquire "$PF" 2>/dev/null) || true
        seen "$t"
        echo "$t"
}
# Whether any process has the token $1 in its command line or environment: one grep over all of
# them (forks are dear under TCG), the token read from a file so that it is in no command line.
token_in_proc() {
        local hits
        printf '%s\n' "$1" >"$TK_TMP/token"
        hits=$(grep -laF -f "$TK_TMP/token" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null) || true
        [[ -n $hits ]] && echo "# the token is in: $hits"
        [[ -n $hits ]]
}

# A QEMU's QMP, over a pipe chardev (see qemu_args): nothing but bash needed. Both FIFOs are opened
# read-write, so no open ever blocks.
qmp_dir() { # DIR: makes DIR with the FIFOs, for a QEMU of any user
        install -d -m 0777 "$1"
        mkfifo -m 0666 "$1/qmp.in" "$1/qmp.out"
}
qmp_open() { # DIR: reads QEMU's greeting and leaves command mode on
        local line
        exec {QMP_IN}<>"$1/qmp.in" {QMP_OUT}<>"$1/qmp.out"
        if ! read -r -t 120 -u "$QMP_OUT" line; then
                qmp_close
                return 1
        fi
        qmp '{"execute":"qmp_capabilities"}' >/dev/null
}
# QEMU is up with QMP: one check; else what vfio-tokenctl or QEMU said. DIR WHAT
qemu_up() {
        if qmp_open "$1"; then
                check "$2" true
        else
                check "$2" false
                sed 's/^/#   /' "$1/stderr"
        fi
}
# The reply of a qom-get of the host property says ADDRESS. REPLY ADDRESS
says_host() {
        grep -qE "\"return\": *\"$2\"" <<<"$1"
}
stop_qemu() {
        qmp_close
        kill -KILL "$QPID" 2>/dev/null || true
        wait "$QPID" 2>/dev/null || true
}
qmp() { # JSON: the reply to one command (events skipped)
        local line
        [[ -n ${QMP_IN:-} ]] || return 1
        echo "$1" >&"$QMP_IN"
        while read -r -t 60 -u "$QMP_OUT" line; do
                [[ $line == *'"event"'* ]] || { echo "$line"; return 0; }
        done
        return 1
}
qmp_close() {
        [[ -z ${QMP_IN:-} ]] || exec {QMP_IN}>&- {QMP_OUT}>&-
        QMP_IN=
}
qom_host() { # QOM-PATH: the host property of a vfio-pci device
        qmp "{\"execute\":\"qom-get\",\"arguments\":{\"path\":\"$1\",\"property\":\"host\"}}"
}

# The QEMU command lines: q35 under TCG, paused, no guest, QMP on the FIFOs of DIR.
qemu_args() { # DIR
        QARGS=(-M q35 -accel tcg -m 64 -nodefaults -display none -S -pidfile "$1/pid"
               -chardev "pipe,id=qmp,path=$1/qmp" -mon "chardev=qmp,mode=control")
}

# The VFs' group nodes go to alice's group, as libvirt hands them to its QEMU user. An
# unprivileged QEMU locks its RAM for VFIO: the limit is inherited from here.
for v in "$VF1" "$VF2"; do
        g=$(vm_group "$v")
        chgrp kvm-test "/dev/vfio/$g" && chmod 0660 "/dev/vfio/$g"
done
ulimit -l unlimited

# =============================================================================================
# 1. vfio-tokenctl qemu, key=value: VF .1 on the root bus, so query-pci lists it while paused.
tk_log "$SECONDS s: QEMU by hand"
D=$TK_TMP/qemu-kv
qmp_dir "$D"
qemu_args "$D"
gen=$(generation)
run_as_bg alice "$TOKENCTL" --no-ask-password qemu "$QEMU" "${QARGS[@]}" -device "vfio-pci,host=$VF1,id=hostdev0" \
        2>"$D/stderr"
QPID=$TK_LAST_PID
qemu_up "$D" "key=value: QEMU runs with QMP"
check_eq "... in place of vfio-tokenctl (its pid file has the same pid)" "$(cat "$D/pid" 2>/dev/null)" "$QPID"
check_eq "... as the real QEMU" "$(readlink "/proc/$QPID/exe")" "$(readlink -f "$QEMU")"
check "QMP query-pci lists the vfio-pci device" grep -qE '"qdev_id": *"hostdev0"' <<<"$(qmp '{"execute":"query-pci"}')"
check "... whose host is $VF1" says_host "$(qom_host /machine/peripheral/hostdev0)" "$VF1"
token=$(current_token)
check "the PF's token is known to the test" grep -qE "^$UUID_RE\$" <<<"$token"
check_fails "no process has the token in /proc/*/cmdline or /proc/*/environ" token_in_proc "$token"
check_eq "one lease, with QEMU's pid and alice's uid" "$(lease_owners)" "$QPID $(id -u alice)"
stop_qemu
check "killing QEMU ends the lease" wait_until no_leases
check_eq "... and RotateWhenIdle gave the PF a new token" "$(generation)" "$((gen + 1))"

# =============================================================================================
# 2. JSON, as libvirt writes it: VF .1 behind a JSON root port, VF .2 on the root bus without an
# id (it gets one made from its address).
D=$TK_TMP/qemu-json
qmp_dir "$D"
qemu_args "$D"
run_as_bg alice "$TOKENCTL" --no-ask-password qemu "$QEMU" "${QARGS[@]}" \
        -device '{"driver":"pcie-root-port","port":8,"chassis":1,"id":"pci.1","bus":"pcie.0","addr":"0x2"}' \
        -device "{\"driver\":\"vfio-pci\",\"host\":\"$VF1\",\"id\":\"hostdev0\",\"bus\":\"pci.1\",\"addr\":\"0x0\"}" \
        -device "{\"driver\":\"vfio-pci\",\"host\":\"$VF2\"}" 2>"$D/stderr"
QPID=$TK_LAST_PID
qemu_up "$D" "JSON: QEMU runs with QMP"
check "QMP query-pci lists VF .2" grep -qE '"qdev_id": *"vfio-tokend-0000_01_00.2"' <<<"$(qmp '{"execute":"query-pci"}')"
check "QOM has VF .1 behind the root port" says_host "$(qom_host /machine/peripheral/hostdev0)" "$VF1"
check "... and VF .2" says_host "$(qom_host /machine/peripheral/vfio-tokend-0000_01_00.2)" "$VF2"
check_fails "no process has the token" token_in_proc "$(current_token)"
check_eq "two leases, both QEMU's" "$(lease_owners)" "$QPID $(id -u alice) $QPID $(id -u alice)"
stop_qemu
check "killing QEMU ends both" wait_until no_leases

# =============================================================================================
# 3. bob is refused: his QEMU never starts.
D=$TK_TMP/qemu-bob
qmp_dir "$D"
qemu_args "$D"
rc=0
run_as bob "$TOKENCTL" --no-ask-password qemu "$QEMU" "${QARGS[@]}" -device "vfio-pci,host=$VF1" \
        2>"$D/stderr" || rc=$?
check_eq "bob: vfio-tokenctl qemu exits 3" "$rc" 3
check_contains "... saying it is the authorisation, for the device and its PF" "$(cat "$D/stderr")" \
        "vfio-pci device $VF1 (PF $PF): Not authorised"
check_fails "... and QEMU never started (no pid file)" test -e "$D/pid"

# =============================================================================================
# 4. The emulator wrapper finds the system's QEMU, never itself: not when its own directory comes
# first in $PATH, not through a link of its name there either.
mkdir -p "$TK_TMP/wrapper-link"
ln -s "$WRAPPER" "$TK_TMP/wrapper-link/qemu-system-x86_64"
check_contains "the wrapper runs the system's QEMU (-version: no device, no bus)" \
        "$(PATH=$TK_TMP/wrapper-link:${WRAPPER%/*}:$PATH "$WRAPPER" -version 2>&1 | head -n 1)" "QEMU emulator version"
check_contains "... also without \$PATH (libvirt clears the environment)" \
        "$(env -i "$WRAPPER" -version 2>&1 | head -n 1)" "QEMU emulator version"
rc=0
out=$(PATH=$TK_TMP/wrapper-link "$WRAPPER" -version 2>&1) || rc=$?
check_eq "... and with only itself to find, it says so (exit 127)" "$rc" 127
check_contains "... naming the search path" "$out" "no qemu-system-x86_64 in $TK_TMP/wrapper-link other than this wrapper"

# =============================================================================================
# 5. libvirt: libvirtd by hand, the domain's QEMU the installed wrapper, run as libvirt-qemu.
# libvirt gives QEMU a cleared environment: the wrapper finds the system bus at its usual place,
# where this namespace puts the test's bus. The installed example rule, for this PF, before the
# test rules (which refuse everyone else).
mkdir -p /run/dbus
mount -t tmpfs -o mode=0755 tmpfs /run/dbus
TK_MOUNTS+=(/run/dbus)
ln -s "$TK_TMP/bus/system_bus_socket" /run/dbus/system_bus_socket
sed "s/var pfs = \[.*\];/var pfs = [ \"$PF\" ];/" "$RULE" >"$TK_TMP/polkit/etc-rules.d/40-vfio-tokend-libvirt.rules"
check_contains "the example rule is adapted to the PF" "$(cat "$TK_TMP/polkit/etc-rules.d/40-vfio-tokend-libvirt.rules")" \
        "[ \"$PF\" ]"
tk_stop_pid "$TK_POLKITD_PID"
tk_start_polkitd

# libvirt's state starts empty, whatever a libvirtd of the host left in the directories the guest
# sees (its own networks and domains, pid files, sockets), and so does its configuration: no
# mount namespace for QEMU and no virtlogd, as the guest has no systemd.
for d in /run/libvirt /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /etc/libvirt; do
        mkdir -p "$d"
        mount -t tmpfs -o mode=0755 tmpfs "$d"
        TK_MOUNTS+=("$d")
done
mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu
cat >/etc/libvirt/qemu.conf <<EOF
namespaces = [ ]
stdio_handler = "file"
EOF
tk_log "$SECONDS s: libvirt"
libvirtd >"$TK_TMP/libvirtd.log" 2>&1 &
tk_register_pid $!
LIBVIRTD=$!
virsh_ok() {
        virsh -q -c qemu:///system version >/dev/null 2>&1
}
check "libvirtd $(libvirtd --version | awk '{ print $NF }') runs" wait_until virsh_ok
VIRSH=(timeout 180 virsh -q -c qemu:///system)

# domain_xml NAME [ADDRESS [SECLABEL]]: the smallest domain with VF .1, placed where libvirt
# likes (behind a root port of its own) or at the guest PCI ADDRESS given.
domain_xml() {
        cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>$WRAPPER</emulator>
    <hostdev mode='subsystem' type='pci' managed='no'>
      <source><address domain='0x0000' bus='0x${VF1:5:2}' slot='0x${VF1:8:2}' function='0x${VF1:11:1}'/></source>
      ${2:-}
    </hostdev>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
  ${3:-}
</domain>
EOF
}
domain_pid() {
        cat "/run/libvirt/qemu/$1.pid" 2>/dev/null
}
qmp_virsh() { # DOMAIN JSON
        "${VIRSH[@]}" qemu-monitor-command "$1" "$2" 2>&1
}

# vm-root has the VF on the root bus, where QMP query-pci lists it while QEMU is paused (behind a
# root port it is listed only once the firmware has numbered the buses, which takes long under
# TCG); vm-port has it where libvirt puts it, behind a JSON root port that vfio-tokenctl must keep
# before it (QOM shows it there). Each starts with the token the end of the one before rotated in.
domain_xml vm-root "<address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>" \
        >"$TK_TMP/vm-root.xml"
domain_xml vm-port >"$TK_TMP/vm-port.xml"
token1=
for vm in vm-root vm-port; do
        "${VIRSH[@]}" define "$TK_TMP/$vm.xml" >/dev/null
        gen=$(generation)
        tk_log "$SECONDS s: virsh start $vm"
        out=$("${VIRSH[@]}" start "$vm" --paused 2>&1) && rc=0 || rc=$?
        check_eq "libvirt $vm: virsh start (<emulator> the wrapper, <hostdev managed='no'> $VF1)" "$rc" 0
        ((rc == 0)) || { echo "# $out"; tail -n 20 "$DOMAIN_LOG_DIR/$vm.log" | sed 's/^/#   /'; continue; }
        pid=$(domain_pid "$vm")
        check_eq "... QEMU is the real one" "$(readlink "/proc/$pid/exe")" "$(readlink -f "$QEMU")"
        check_eq "... its lease has QEMU's pid and libvirt-qemu's uid" "$(lease_owners)" "$pid $(id -u libvirt-qemu)"
        if [[ $vm == vm-root ]]; then
                check "... QMP query-pci lists the VF" grep -qE '"qdev_id": *"hostdev0"' \
                        <<<"$(qmp_virsh "$vm" '{"execute":"query-pci"}')"
        fi
        check "... QOM has the VF" says_host \
                "$(qmp_virsh "$vm" '{"execute":"qom-get","arguments":{"path":"/machine/peripheral/hostdev0","property":"host"}}')" \
                "$VF1"
        token=$(current_token)
        check_fails "... no process has the token in /proc/*/cmdline or /proc/*/environ" token_in_proc "$token"
        if [[ -n $token1 ]]; then
                check "... a new token since the domain before" test "$token" != "$token1"
        fi
        token1=$token
        "${VIRSH[@]}" destroy "$vm" >/dev/null
        check "... virsh destroy ends the lease" wait_until no_leases
        check_eq "... and the PF's token rotated (RotateWhenIdle)" "$(generation)" "$((gen + 1))"
done

# A domain whose QEMU runs as bob, whom no rule allows: it does not start, and its log says why.
tk_log "$SECONDS s: a refused domain"
domain_xml vm2 "" \
        "<seclabel type='static' model='dac' relabel='yes'><label>+$(id -u bob):+$(id -g bob)</label></seclabel>" \
        >"$TK_TMP/vm2.xml"
"${VIRSH[@]}" define "$TK_TMP/vm2.xml" >/dev/null
out=$("${VIRSH[@]}" start vm2 --paused 2>&1) && rc=0 || rc=$?
check_fails "a domain whose QEMU runs as bob does not start" test "$rc" = 0
check_contains "... its log names the device, the PF and the authorisation" "$(cat "$DOMAIN_LOG_DIR/vm2.log" 2>/dev/null)" \
        "vfio-pci device $VF1 (PF $PF): Not authorised"
check_eq "... no lease is left" "$(leases)" ""

tk_stop_pid "$LIBVIRTD"
tk_log "$SECONDS s: done"

# =============================================================================================
n=$(sort -u "$SEEN" | wc -l)
check "the test saw tokens to look for ($n)" test "$n" -ge 3
leaked=0
while read -r t; do
        grep -qiF -e "$t" -e "${t//-/}" "$TK_DAEMON_LOG" && leaked=$((leaked + 1))
done < <(sort -u "$SEEN")
check_eq "none of them is in the daemon's log" "$leaked" 0
