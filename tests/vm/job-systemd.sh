#!/bin/bash
# vfio-tokend under a real systemd (252) as PID 1, in the test VM (issue 5): the Debian package
# installed with `apt-get install ./vfio-tokend_*.deb` into the guest's copy-on-write root
# (issue 12), started as a unit, restarted, killed, stopped and started again, with a VF held
# open by a client all along, and purged at the end.
#
# Two roles:
#   job-systemd.sh --prepare BUILDDIR   on the host (check-vm.sh): builds the Debian package
#       (dpkg-buildpackage -b, without its unit tests, in a copy of the source tree: git's files,
#       tracked or not ignored) into BUILDDIR, and writes the host's
#       `systemd-analyze security --offline=yes` figure of the packaged unit to
#       BUILDDIR/host-exposure (its exposed items to BUILDDIR/host-exposed).
#   job-systemd.sh                      in the guest, as the job of
#       `run-vm.sh --init=systemd --env VF_OPEN=... --env TOKEND_BUILD=BUILDDIR KERNEL -- job-systemd.sh`
#       (a job unit, under systemd as PID 1). Prints "PASS: what" / "FAIL: what" lines, "NOTE:"
#       lines with figures and timings, and exits non-zero if any check failed. It never prints a
#       token: tokens are compared in variables only, and the journal is searched for them.
#
# The guest side checks that the package installs every file where Debian's daemons read it,
# creates the service user and enables the unit without starting it; that the unit starts (Type=notify: READY reached) with the daemon as
# vfio-tokend without capabilities; that root and an allowed user get the token, a refused user
# does not; and that across `systemctl restart` and a `kill -9` of the main process
# (Restart=on-failure) the new daemon runs on the very same PF files (kcmp against copies taken
# from the old daemon with pidfd_getfd: no PF reopen), with the same token, while a VF opened with
# it stays open and working (its config space is read through the held fd); `systemctl
# daemon-reexec` in between keeps the daemon and the store. After `systemctl stop` + `start`
# (fd store dropped) the daemon reopens the PF with the persisted token while the VF is still
# held. `systemd-analyze security` of the running unit must give the host's offline figure. The
# journal must not contain the token.
#
# With VM_API=cdev (a kernel with the VFIO cdev) the daemon holds the PF through its iommufd cdev
# ([PhysicalFunction] Api=cdev): --setup hands it the cdev node and /dev/iommu (an ACL entry), the
# unit's device cgroup lets it open them, and the fd store holds its two fds (iommufd, cdev)
# across the same restarts, while the client holds its VF through the group API.
# shellcheck disable=SC2015 # "test && pass || fail": pass never fails
# shellcheck disable=SC2317 # fdtool is called through helper_start
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# --- host: prepare the build tree -------------------------------------------------------------
prepare() {
        local b=$1 top unit out deb
        top=$(cd "$here/../.." && pwd)
        git -C "$top" rev-parse --git-dir >/dev/null 2>&1 ||
                { echo "job-systemd: $top is not a git checkout" >&2; return 1; }
        command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
                { echo "job-systemd: dpkg-buildpackage and debhelper are needed (tools/deps.sh)" >&2; return 1; }
        mkdir -p "$b" || return 1
        rm -rf "$b/vfio-tokend" "$b/root" "$b"/*.deb "$b"/*.changes "$b"/*.buildinfo || return 1
        mkdir -p "$b/vfio-tokend" || return 1
        (cd "$top" && git ls-files -z --cached --others --exclude-standard) |
                (cd "$top" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
                tar -C "$b/vfio-tokend" -xf - || return 1
        (cd "$b/vfio-tokend" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) \
                > "$b/.build.log" 2>&1 || { tail -n 40 "$b/.build.log" >&2; return 1; }
        rm -rf "$b/vfio-tokend"
        deb=$(echo "$b"/vfio-tokend_*.deb)
        [ -f "$deb" ] || { echo "job-systemd: no vfio-tokend_*.deb in $b" >&2; return 1; }
        dpkg-deb -x "$deb" "$b/root" || return 1

        unit=$(mktemp -d) || return 1
        cp "$(find "$b/root" -name vfio-tokend.service -path '*/systemd/system/*')" "$unit/vfio-tokend.service" ||
                return 1
        out=$(cd "$unit" && SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 LC_ALL=C \
                systemd-analyze security --offline=yes ./vfio-tokend.service 2>&1)
        rm -rf "$unit"
        exposure_of "$out" > "$b/host-exposure" || { echo "$out" >&2; return 1; }
        printf '%s\n' "$out" | grep -E '^- ' > "$b/host-exposed"
        return 0
}

# The overall figure in `systemd-analyze security` output.
exposure_of() {
        printf '%s\n' "$1" | sed -n 's/^.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*$/\1/p' |
                tail -n 1 | grep .
}

case ${1:-} in
--prepare) [ $# = 2 ] || { echo "usage: $0 --prepare BUILDDIR" >&2; exit 2; }; prepare "$2"; exit ;;
'') ;;
*) echo "usage: $0 [--prepare BUILDDIR]" >&2; exit 2 ;;
esac

# --- guest ------------------------------------------------------------------------------------
# shellcheck source=tests/vm/guest-lib.sh
. "$VM_LIB"
export SYSTEMD_PAGER=cat SYSTEMD_COLORS=0 LC_ALL=C

b=${TOKEND_BUILD:?TOKEND_BUILD names the build tree (job-systemd.sh --prepare)}
pf=$VM_PF
vf=${VM_VFS%% *}
vf2=${VM_VFS##* }
unit=vfio-tokend.service
api=${VM_API:-group}
case $api in
group) nfds=3 ;;  # container, group, device
cdev) nfds=2 ;;   # iommufd, cdev
*) echo "job-systemd: VM_API=$api: not group or cdev" >&2; exit 2 ;;
esac
user=vmtest       # allowed by the polkit rule below
other=vmother     # not allowed
t0=$(date +%s.%N)
tmp=/run/vm-job
mkdir -p "$tmp"

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
ok() {   # ok WHAT CMD...: the command succeeds
        local what=$1
        shift
        if "$@" > "$tmp/ok.out" 2>&1; then pass "$what"; else fail "$what"; sed 's/^/  /' "$tmp/ok.out"; fi
}
is() {   # is WHAT GOT WANT
        if [ "$2" = "$3" ]; then pass "$1: $2"; else fail "$1: got '$2', want '$3'"; fi
}
note() { echo "NOTE: $(elapsed) $*"; }
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "+%.1fs", b - a }'; }
abort() {
        fail "$*"
        echo "--- systemctl status $unit"; systemctl status --no-pager -l "$unit" 2>&1 | sed 's/^/  /'
        echo "--- journal of $unit"; journalctl -b -u "$unit" --no-pager 2>&1 | sed 's/^/  /'
        exit 1
}
prop() { systemctl show -p "$1" --value "$unit"; }
is_uuid() { [[ $1 =~ ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$ ]]; }
acquire() {   # acquire [USER]: the token of $vf on stdout (into a variable, never printed)
        if [ $# = 0 ]; then
                vfio-tokenctl --no-ask-password acquire "$vf"
        else
                setpriv --reuid="$1" --regid="$1" --init-groups -- vfio-tokenctl --no-ask-password acquire "$vf"
        fi
}
# The journal lines of the unit's current run (its invocation).
run_journal() { journalctl -b --no-pager -o cat _SYSTEMD_INVOCATION_ID="$(prop InvocationID)"; }

# Helper processes the job talks to line by line through two fifos (bash allows one coproc).
declare -A h_in h_out h_pid
helper_start() {   # helper_start NAME CMD...
        local n=$1 wfd rfd
        shift
        mkfifo "$tmp/$n.in" "$tmp/$n.out" || return 1
        "$@" < "$tmp/$n.in" > "$tmp/$n.out" 2> "$tmp/$n.err" &
        h_pid[$n]=$!
        exec {wfd}> "$tmp/$n.in" {rfd}< "$tmp/$n.out"
        h_in[$n]=$wfd h_out[$n]=$rfd
}
helper_read() {   # helper_read NAME: its next line
        local l=''
        read -r -t 60 l <&"${h_out[$1]}"
        echo "$l"
}
helper_ask() { echo "$2" >&"${h_in[$1]}"; helper_read "$1"; }
helper_stop() {
        local wfd=${h_in[$1]} rfd=${h_out[$1]}
        exec {wfd}>&- {rfd}<&-
        wait "${h_pid[$1]}"
}

# fdtool hold PID: takes copies (pidfd_getfd) of PID's VFIO fds (/dev/vfio/*, /dev/vfio/devices/*,
# /dev/iommu, [vfio-device]) and
# prints "held N"; then answers one line per request on stdin:
#   same PID   "same" if every held copy is the very same open file as one of PID's VFIO fds
#              (kcmp KCMP_FILE) and PID has no others, else "different"
#   vendor     the PCI vendor ID read from config space through the held device fd
# Holding the copies is harmless: the PF group is held open by systemd's fd store anyway.
cat > "$tmp/fdtool.py" <<'EOF'
import ctypes, fcntl, os, re, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def sc(*a):
    r = libc.syscall(*[ctypes.c_long(x) for x in a])
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r
SYS_kcmp, SYS_pidfd_getfd, KCMP_FILE = 312, 438, 0
VFIO_DEVICE_GET_REGION_INFO, VFIO_PCI_CONFIG_REGION_INDEX = 0x3b6c, 7
def vfio_fds(pid):
    d = "/proc/%d/fd" % pid
    out = []
    for n in os.listdir(d):
        try:
            t = os.readlink("%s/%s" % (d, n))
        except OSError:
            continue
        # A file opened in a mount namespace that is gone (the old daemon's) shows a path
        # relative to its detached mount: "/vfio/6", not "/dev/vfio/6".
        if re.search(r"(^|/)vfio/(vfio|[0-9]+|devices/vfio[0-9]+)$", t) or re.search(r"(^|/)iommu$", t) \
                or t == "anon_inode:[vfio-device]":
            out.append((int(n), t))
    return out
def say(s):
    print(s, flush=True)
try:
    pid = int(sys.argv[2])
    pidfd = os.pidfd_open(pid)
    held = [(sc(SYS_pidfd_getfd, pidfd, n, 0), t) for n, t in vfio_fds(pid)]
    say("held %d" % len(held))
except Exception as e:
    say("error %s" % e)
    sys.exit(1)
for line in sys.stdin:
    w = line.split()
    try:
        if w[0] == "same":
            other = int(w[1])
            theirs = vfio_fds(other)
            found = sum(any(sc(SYS_kcmp, os.getpid(), other, KCMP_FILE, c, n) == 0 for n, _ in theirs)
                        for c, _ in held)
            if len(theirs) == len(held) == found:
                say("same")
            else:
                say("different (%d held, %d the same of %d's VFIO fds: %s)" %
                    (len(held), found, other, " ".join(t for _, t in theirs)))
        elif w[0] == "vendor":
            dev = [c for c, t in held if t == "anon_inode:[vfio-device]"][0]
            info = bytearray(struct.pack("IIIIQQ", 32, 0, VFIO_PCI_CONFIG_REGION_INDEX, 0, 0, 0))
            fcntl.ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, info)
            off = struct.unpack("IIIIQQ", info)[5]
            say("%04x" % struct.unpack("<H", os.pread(dev, 2, off))[0])
        else:
            say("error unknown request")
    except Exception as e:
        say("error %s" % e)
EOF
fdtool() { /usr/bin/python3 "$tmp/fdtool.py" "$@"; }

vendor=$(cat "/sys/bus/pci/devices/$pf/vendor")
vendor=${vendor#0x}
note "job started on $VM_KERNEL (Api=$api); $(systemctl --version | head -n 1); boot took: $(systemd-analyze 2>&1 | head -n 1)"

# --- install: the Debian package, as an admin would ----------------------------------------------
deb=$(echo "$b"/vfio-tokend_*.deb)
# The guest's root is the host's: like a real host, let maintainer scripts act on services (a
# container's policy-rc.d forbids it), and skip man-db's trigger, which would re-index every man
# page of the host's tree (minutes under TCG).
rm -f /usr/sbin/policy-rc.d /var/lib/man-db/auto-update
getent passwd vfio-tokend > /dev/null && fail "user vfio-tokend exists before the package is installed"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb" > "$tmp/install.log" 2>&1 &&
        pass "apt-get install ./$(basename "$deb")" ||
        { fail "apt-get install ./$(basename "$deb")"; tail -n 30 "$tmp/install.log" | sed 's/^/  /'; exit 1; }
note "package installed"
for f in /usr/sbin/vfio-tokend /usr/bin/vfio-tokenctl /lib/systemd/system/$unit \
         /lib/systemd/system/vfio-tokend-setup@.service /lib/udev/rules.d/90-vfio-tokend.rules \
         /usr/lib/sysusers.d/vfio-tokend.conf /usr/lib/tmpfiles.d/vfio-tokend.conf \
         /usr/share/dbus-1/system.d/org.vfio.Tokend1.conf \
         /usr/share/dbus-1/system-services/org.vfio.Tokend1.service \
         /usr/share/polkit-1/actions/org.vfio.tokend.policy; do
        [ -s "$f" ] && pass "installed $f" || fail "installed $f"
done
getent passwd vfio-tokend > /dev/null && pass "the package made the user vfio-tokend (sysusers.d)" ||
        fail "the package made the user vfio-tokend (sysusers.d)"
[ -d /etc/vfio-tokend/conf.d ] && pass "the package made /etc/vfio-tokend/conf.d (tmpfiles.d)" ||
        fail "the package made /etc/vfio-tokend/conf.d (tmpfiles.d)"
is "the package enabled the unit" "$(systemctl is-enabled "$unit" 2>&1)" enabled
is "... without starting it" "$(systemctl is-active "$unit" 2>&1)" inactive
ok "test users made" systemd-sysusers --inline "u $user - \"VM test client\"" "u $other - \"VM test stranger\""

cat > /etc/vfio-tokend/vfio-tokend.conf <<EOF
[PhysicalFunction]
Address=$pf
NumVFs=2
BindVFIO=yes
EOF
[ "$api" = group ] || echo "Api=$api" >> /etc/vfio-tokend/vfio-tokend.conf
mkdir -p /etc/polkit-1/rules.d
cat > /etc/polkit-1/rules.d/50-vm-test.rules <<EOF
polkit.addRule(function(action, subject) {
        if (action.id === "org.vfio.tokend.acquire-token")
                return subject.user === "$user" && action.lookup("pf") === "$pf" ?
                        polkit.Result.YES : polkit.Result.NO;
        return polkit.Result.NOT_HANDLED;
});
EOF
chmod 0644 /etc/polkit-1/rules.d/50-vm-test.rules
# No `systemctl reload dbus` nor daemon-reload here: the package's postinst had dbus read its
# policy again once the user existed, and the bus name check below shows that it did.
is "unit loads" "$(prop LoadState)" loaded
note "installed"

# --- start ------------------------------------------------------------------------------------
[ "$(vm_driver "$pf")" != vfio-pci ] && pass "PF starts on $(vm_driver "$pf"), not yet vfio-pci" ||
        fail "PF is on vfio-pci before the unit ran"
systemctl start "$unit" || abort "systemctl start $unit"
pass "systemctl start $unit (Type=notify: READY=1 reached)"
note "started"
is "unit active" "$(prop ActiveState)/$(prop SubState)" active/running
is "PF bound by --setup" "$(vm_driver "$pf")" vfio-pci
is "VFs enabled by --setup" "$(cat "/sys/bus/pci/devices/$pf/sriov_numvfs")" 2
group=$(vm_group "$pf")
if [ "$api" = cdev ]; then
        cdev=$(ls "/sys/bus/pci/devices/$pf/vfio-dev")
        is "/dev/vfio/devices/$cdev owned by, mode" "$(stat -c '%U %a' "/dev/vfio/devices/$cdev")" "vfio-tokend 600"
        is "/dev/vfio/$group (not the daemon's on Api=cdev) owned by" "$(stat -c %U "/dev/vfio/$group")" root
        setpriv --reuid=vfio-tokend --regid=vfio-tokend --clear-groups -- test -r /dev/iommu -a -w /dev/iommu &&
                pass "vfio-tokend may open /dev/iommu rw (ACL entry by --setup)" ||
                fail "vfio-tokend may open /dev/iommu rw (ACL entry by --setup)"
else
        is "/dev/vfio/$group owned by" "$(stat -c %U "/dev/vfio/$group")" vfio-tokend
fi
is "bus name org.vfio.Tokend1 owned by the main process" \
        "$(busctl status --no-pager org.vfio.Tokend1 2>/dev/null | sed -n 's/^PID=//p')" "$(prop MainPID)"

deps=$(systemctl show -p Requires,Requisite,Wants,BindsTo,PartOf,After --value "$unit" | tr ' ' '\n' | grep -c '\.device$')
is "unit dependencies on device units (none: no udev needed)" "$deps" 0

main=$(prop MainPID)
uid=$(id -u vfio-tokend)
st=/proc/$main/status
is "main process uids (real, effective, saved, fs)" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" "$uid $uid $uid $uid"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
        is "main process $c" "$(awk -v c="$c:" '$1 == c { print $2 }' "$st")" 0000000000000000
done
is "main process NoNewPrivs" "$(awk '$1 == "NoNewPrivs:" { print $2 }' "$st")" 1
is "main process Seccomp (filter)" "$(awk '$1 == "Seccomp:" { print $2 }' "$st")" 2
is "fd store after the first start" "$(prop NFileDescriptorStore)" $nfds
# Tokens in memfd_secret memory where the kernel allows it (the unit allows the system call),
# else in mlock()ed memory.
if [ "$(cat /sys/module/secretmem/parameters/enable 2>/dev/null)" = Y ]; then
        grep -q '/secretmem' "/proc/$main/maps" && pass "tokens in memfd_secret memory (secretmem enabled)" ||
                fail "tokens in memfd_secret memory (secretmem enabled): no secretmem mapping in the daemon"
else
        [ "$(awk '$1 == "VmLck:" { print $2 }' "$st")" -gt 0 ] && pass "tokens in mlock()ed memory (no secretmem)" ||
                fail "tokens in mlock()ed memory (no secretmem): VmLck is 0"
fi
run_journal | grep -q "Ready ($api API, opened" && pass "first start opened the PF ($api API)" ||
        fail "first start: no 'Ready ($api API, opened' in the journal"
st_dir=/var/lib/vfio-tokend
is "state directory" "$(stat -c '%a %U' "$st_dir")" "700 vfio-tokend"
files=$(find "$st_dir" -type f ! -perm 0600 | wc -l)
is "state files not 0600" "$files" 0

# --- tokens -----------------------------------------------------------------------------------
T=$(acquire) && is_uuid "$T" && pass "root acquires a token for $vf" || abort "root acquires a token for $vf"
T2=$(acquire "$user") && [ "$T2" = "$T" ] && pass "$user (allowed by polkit) gets the same token" ||
        fail "$user (allowed by polkit) gets the same token (exit $?)"
rc=0; acquire "$other" > /dev/null 2>&1 || rc=$?
is "$other (refused by polkit): vfio-tokenctl exit" "$rc" 3
note "tokens acquired"

# A client holds VF $vf open with the token from here to the end.
helper_start vf "$VF_OPEN" --hold --token "$T" "$vf"
is "VF $vf opened with the token and held" "$(helper_read vf)" OK
helper_start vfc fdtool hold "${h_pid[vf]}"
is "copies of the held VF's fds" "$(helper_read vfc)" "held 3"
is "held VF's config space reads (vendor)" "$(helper_ask vfc vendor)" "$vendor"
is "VF $vf2 with a made-up token" "$("$VF_OPEN" --token "$(cat /proc/sys/kernel/random/uuid)" "$vf2" 2>/dev/null)" EACCES

# After a restart of any kind: same PF files, same token, clients served, the held VF fine.
after() {   # after WHAT
        local w=$1 m t
        m=$(prop MainPID)
        [ "$m" != 0 ] && [ "$m" != "$main" ] && pass "$w: a new main process" ||
                fail "$w: main process $m (was $main)"
        main=$m
        is "$w: unit active" "$(prop ActiveState)/$(prop SubState)" active/running
        is "$w: fd store" "$(prop NFileDescriptorStore)" $nfds
        t=$(acquire) && [ "$t" = "$T" ] && pass "$w: root gets the same token" || fail "$w: root gets the same token"
        t=$(acquire "$user") && [ "$t" = "$T" ] && pass "$w: $user re-acquires the same token" ||
                fail "$w: $user re-acquires the same token"
        kill -0 "${h_pid[vf]}" 2>/dev/null && pass "$w: the VF holder still runs" || fail "$w: the VF holder still runs"
        is "$w: held VF's config space reads (vendor)" "$(helper_ask vfc vendor)" "$vendor"
        is "$w: VF $vf2 opens with the token" "$("$VF_OPEN" --token "$T" "$vf2" 2>/dev/null)" OK
}
# ... and for a warm restart: the daemon took its fds from the store and runs on the very same
# open files as before (a reopen would be new files; and it would have reset the PF).
warm() {   # warm WHAT
        local w=$1 j
        j=$(run_journal)
        grep -q "Took the PF's fds back from the fd store" <<<"$j" &&
                pass "$w: journal: fds taken back from the fd store" || fail "$w: journal: no 'Took the PF's fds back'"
        grep -q "Ready ($api API, fds kept" <<<"$j" && pass "$w: journal: Ready ($api API, fds kept)" ||
                fail "$w: journal: no 'Ready ($api API, fds kept'"
        is "$w: the daemon's VFIO fds are the old daemon's open files (kcmp)" "$(helper_ask dfd "same $main")" same
        is "$w: systemd's fd store holds them too (kcmp)" "$(helper_ask dfd "same 1")" same
}

helper_start dfd fdtool hold "$main"
is "copies of the daemon's PF fds ($api API)" "$(helper_read dfd)" "held $nfds"

# A VMM's lease, held by `vfio-tokenctl acquire --hold` as $user through every restart below.
pf_path=$(busctl call org.vfio.Tokend1 /org/vfio/Tokend1 org.vfio.Tokend1.Manager GetPhysicalFunction s "$pf" |
        sed -n 's/^o "\(.*\)"$/\1/p')
leases() { busctl get-property org.vfio.Tokend1 "$pf_path" org.vfio.Tokend1.PhysicalFunction Leases 2>/dev/null; }
is "the PF's Api property" "$(busctl get-property org.vfio.Tokend1 "$pf_path" org.vfio.Tokend1.PhysicalFunction Api)" \
        "s \"$api\""
# Without the helpers' fifos: a copy of one of their write ends would keep it from its EOF.
(
        for fd in /proc/$BASHPID/fd/*; do
                fd=${fd##*/}
                [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        exec setpriv --reuid="$user" --regid="$user" --init-groups -- \
                vfio-tokenctl --no-ask-password acquire "$vf" --hold
) > "$tmp/hold.out" 2> "$tmp/hold.err" &
hold_pid=$!
for _ in $(seq 100); do grep -q . "$tmp/hold.out" && break; sleep 0.1; done
is "$user holds a lease (acquire --hold)" "$(leases | awk '{ print $2 }')" 1
held_lease=$(leases)
sleep 0.3 # the daemon writes its leases within 100 ms of a change
# held WHAT: the --hold process noticed nothing, its lease is the same object.
held() {
        kill -0 "$hold_pid" 2>/dev/null && pass "$1: acquire --hold still runs" || fail "$1: acquire --hold ended"
        is "$1: the same lease, same path" "$(leases)" "$held_lease"
        is "$1: --hold said nothing" "$(cat "$tmp/hold.err")" ""
}

# --- systemctl restart --------------------------------------------------------------------------
t=$(date +%s.%N)
systemctl restart "$unit" || abort "systemctl restart $unit"
note "restart took $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }')"
pass "systemctl restart"
after restart
warm restart
held restart

# --- systemctl reload (SIGHUP): the configuration again, nothing reopened, nothing reset -------
printf '[PhysicalFunction]\nAddress=%s\nNumVFs=2\nBindVFIO=yes\nRotateIntervalSec=1d\n' "$pf" \
        > /etc/vfio-tokend/vfio-tokend.conf
[ "$api" = group ] || echo "Api=$api" >> /etc/vfio-tokend/vfio-tokend.conf
ok "systemctl reload" systemctl reload "$unit"
for _ in $(seq 50); do run_journal | grep -q "Configuration reloaded" && break; sleep 0.1; done
is "reload: main process unchanged" "$(prop MainPID)" "$main"
is "reload: unit active" "$(prop ActiveState)/$(prop SubState)" active/running
run_journal | grep -q "Rotation interval now 86400 s" && pass "reload: the new interval applies" ||
        fail "reload: no 'Rotation interval now' in the journal"
is "reload: the daemon's VFIO fds are the same open files (kcmp: nothing reopened)" "$(helper_ask dfd "same $main")" same
is "reload: fd store" "$(prop NFileDescriptorStore)" $nfds
is "reload: held VF's config space reads (vendor)" "$(helper_ask vfc vendor)" "$vendor"
t=$(acquire) && [ "$t" = "$T" ] && pass "reload: the same token" || fail "reload: the same token"
held reload

# --- daemon-reexec (what an upgrade of systemd does): the daemon runs on, the store is kept -------
ok "systemctl daemon-reexec" systemctl daemon-reexec
is "daemon-reexec: main process unchanged" "$(prop MainPID)" "$main"
is "daemon-reexec: fd store" "$(prop NFileDescriptorStore)" $nfds
is "daemon-reexec: systemd's fd store holds the daemon's files (kcmp)" "$(helper_ask dfd "same 1")" same

# --- kill -9 of the main process: Restart=on-failure brings it back, the store kept -------------
restarts=$(prop NRestarts)
t=$(date +%s.%N)
kill -9 "$main"
# No event to wait on from a shell: poll (bounded) for the automatic restart to finish.
for _ in $(seq 300); do
        m=$(prop MainPID)
        [ "$m" != 0 ] && [ "$m" != "$main" ] && [ "$(prop ActiveState)" = active ] && break
        sleep 0.2
done
note "back after kill -9 in $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }')"
is "kill -9: NRestarts" "$(prop NRestarts)" $((restarts + 1))
after "kill -9"
warm "kill -9"
held "kill -9"
helper_stop dfd

# --- systemctl stop + start: the store is dropped, the PF reopened with the persisted token -----
ok "systemctl stop" systemctl stop "$unit"
is "stop: fd store" "$(prop NFileDescriptorStore)" 0
is "stop: VF still held" "$(helper_ask vfc vendor)" "$vendor"
t=$(date +%s.%N)
systemctl start "$unit" || abort "systemctl start after stop"
note "cold start took $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1fs", b - a }')"
pass "systemctl start after stop (VF in use, PF reopened)"
j=$(run_journal)
grep -q "Ready ($api API, opened" <<<"$j" && pass "cold start: journal: Ready ($api API, opened)" ||
        fail "cold start: journal: no 'Ready ($api API, opened'"
grep -q "Took the PF's fds back" <<<"$j" && fail "cold start: fds came from a store that should be empty" ||
        pass "cold start: nothing taken from the fd store"
grep -q "Token set" <<<"$j" && fail "cold start: the daemon set a new token" || pass "cold start: no new token set"
after "stop+start"
is "stop+start: the held VF's PF still has 2 VFs" "$(cat "/sys/bus/pci/devices/$pf/sriov_numvfs")" 2
held "stop+start"
kill "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
is "when --hold ends, its lease ends" "$(leases)" "ao 0"

# --- systemd-analyze security: online (the loaded unit) = offline on the host ------------------
online=$(systemd-analyze security "$unit" 2>&1)
e_on=$(exposure_of "$online")
e_host=$(cat "$b/host-exposure" 2>/dev/null)
note "exposure: online $e_on, offline on the host ${e_host:-?}"
is "systemd-analyze security online = --offline=yes on the host" "${e_on:-none}" "${e_host:-none}"
if [ "$e_on" != "$e_host" ]; then
        echo "  exposed online / offline:"
        diff <(printf '%s\n' "$online" | grep -E '^- ') "$b/host-exposed" | sed 's/^/  /'
fi

# --- the token never reaches the journal ------------------------------------------------------
n=$(journalctl -b -o export --no-pager 2>/dev/null | grep -a -c -F -- "$T")
is "journal entries (any unit, every field) containing the token" "$n" 0
n=$(journalctl -b -u "$unit" --no-pager 2>/dev/null | grep -c -F -- "$T")
is "journalctl -u $unit lines containing the token" "$n" 0

helper_stop vfc
helper_stop vf

# --- hot-unplug and re-plug of the PF (sysfs remove + rescan), with the daemon running ----------
# The kernel asks the daemon for the device back (VFIO request), which lets go; the rescanned PF
# comes back on its own driver; what udev's rule would start (no udev here: started by hand),
# vfio-tokend-setup@PF.service, binds it and asks the daemon to retry: ready again, same token,
# no restart of the daemon.
echo 1 > "/sys/bus/pci/devices/$pf/remove" && pass "PF removed (sysfs remove)" || fail "PF removed (sysfs remove)"
for _ in $(seq 100); do [ -e "/sys/bus/pci/devices/$pf" ] || break; sleep 0.1; done
is "after remove: the daemon says the PF is gone" \
        "$(busctl get-property org.vfio.Tokend1 "$pf_path" org.vfio.Tokend1.PhysicalFunction State)" 's "gone"'
is "after remove: fd store emptied (FDSTOREREMOVE)" "$(prop NFileDescriptorStore)" 0
is "after remove: the daemon runs on" "$(prop MainPID)" "$main"
echo 1 > /sys/bus/pci/rescan && pass "PCI rescan" || fail "PCI rescan"
for _ in $(seq 100); do [ -e "/sys/bus/pci/devices/$pf" ] && break; sleep 0.1; done
ok "vfio-tokend-setup@$pf.service (what udev starts for a PF that appears)" \
        systemctl start "vfio-tokend-setup@$pf.service"
is "re-plugged: PF on vfio-pci again" "$(vm_driver "$pf")" vfio-pci
is "re-plugged: the daemon has it ready, without a restart" \
        "$(busctl get-property org.vfio.Tokend1 "$pf_path" org.vfio.Tokend1.PhysicalFunction State)" 's "ready"'
is "re-plugged: same main process" "$(prop MainPID)" "$main"
is "re-plugged: fd store" "$(prop NFileDescriptorStore)" $nfds
t=$(acquire) && [ "$t" = "$T" ] && pass "re-plugged: the same token" || fail "re-plugged: the same token"
is "re-plugged: VF $vf opens with it" "$("$VF_OPEN" --token "$T" "$vf" 2>/dev/null)" OK

# --- purge: the package goes, and with it the state (the tokens at rest) -----------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vfio-tokend > "$tmp/purge.log" 2>&1 &&
        pass "apt-get purge vfio-tokend" ||
        { fail "apt-get purge vfio-tokend"; tail -n 30 "$tmp/purge.log" | sed 's/^/  /'; }
is "purge: the unit is stopped" "$(systemctl is-active "$unit" 2>&1)" inactive
[ ! -e /var/lib/vfio-tokend ] && pass "purge: /var/lib/vfio-tokend removed" ||
        fail "purge: /var/lib/vfio-tokend still there: $(ls -A /var/lib/vfio-tokend 2>&1 | tr '\n' ' ')"
[ ! -e "/usr/sbin/vfio-tokend" ] && pass "purge: the daemon removed" || fail "purge: /usr/sbin/vfio-tokend still there"
note "done"
unset T T2
exit $((failed != 0))
