#!/bin/bash
# The D-Bus API of the daemon, running on the kernel model with a real bus and polkitd: who gets
# a token (the one the kernel holds) and who does not, the order of AcquireToken's checks
# (arguments, device, authorisation), `vfio-tokenctl exec`, the objects and their properties,
# a configured PF that is absent, and the introspection data against dbus/org.vfio.Tokend1.xml.
#
# TK_INTROSPECT_OUT=FILE writes the introspection data the daemon serves to FILE, in the form
# of dbus/org.vfio.Tokend1.xml (to update that file after an API change).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/tokend-lib.sh"
harness_enter_namespace "$@"
harness_start
tokend_init

ABSENT_PF=0000:05:00.0 # configured, not in the fixture
UNKNOWN_VF=0000:09:00.1 # a well-formed address the daemon does not manage
VF1=0000:01:00.1
VF2=0000:01:00.2
OTHER_VF=0000:02:00.1
WRONG_TOKEN=01234567-89ab-4def-8123-456789abcdef

make_fixture "$FX"
cat >"$CONF" <<EOF
[PhysicalFunction]
Address=$TK_PF

[PhysicalFunction]
Address=$TK_OTHER_PF

[PhysicalFunction]
Address=$ABSENT_PF
EOF
start_monitor
started_usec=$(date +%s%6N)
start_tokend

PF=$(pf_path "$TK_PF")
ABSENT=$(pf_path "$ABSENT_PF")
MANAGER=(/org/vfio/Tokend1 org.vfio.Tokend1.Manager)

# --- Objects and properties.
check_eq "GetPhysicalFunction of a VF gives its PF" "$(pf_path "$VF2")" "$PF"
check_eq "PF object paths are sd_bus_path_encode'd" "$PF" /org/vfio/Tokend1/pf/_30000_3a01_3a00_2e0
check_eq "ListPhysicalFunctions lists the configured PFs" \
        "$(bus_call call "$TK_BUS_NAME" "${MANAGER[@]}" ListPhysicalFunctions)" \
        "a(so) 3 \"$TK_PF\" \"$PF\" \"$TK_OTHER_PF\" \"$(pf_path "$TK_OTHER_PF")\" \"$ABSENT_PF\" \"$ABSENT\""
check "Version is set" grep -qE '^s "[0-9]+\.[0-9]+' <<<"$(prop "${MANAGER[@]}" Version)"
check_eq "Address" "$(prop "$PF" "$IFACE_PF" Address)" "s \"$TK_PF\""
check_eq "Driver" "$(prop "$PF" "$IFACE_PF" Driver)" 's "vfio-pci"'
check_eq "NumVFs" "$(prop "$PF" "$IFACE_PF" NumVFs)" "u 2"
check_eq "TotalVFs" "$(prop "$PF" "$IFACE_PF" TotalVFs)" "u 4"
check_eq "VirtualFunctions" "$(prop "$PF" "$IFACE_PF" VirtualFunctions)" "as 2 \"$VF1\" \"$VF2\""
check_eq "State is ready" "$(prop "$PF" "$IFACE_PF" State)" 's "ready"'
check_eq "Api is group" "$(prop "$PF" "$IFACE_PF" Api)" 's "group"'
check_eq "StateReason is empty when ready" "$(prop "$PF" "$IFACE_PF" StateReason)" 's ""'
check_eq "TokenGeneration is 1 (the first token)" "$(generation "$PF")" 1
set_usec=$(prop "$PF" "$IFACE_PF" TokenSetTimestamp | awk '{ print $2 }')
check "TokenSetTimestamp is when the daemon started" \
        test "$set_usec" -ge "$started_usec" -a "$set_usec" -le "$(date +%s%6N)"
check_eq "no leases yet" "$(prop "$PF" "$IFACE_PF" Leases)" "ao 0"
managed=$(bus_call call "$TK_BUS_NAME" /org/vfio/Tokend1 org.freedesktop.DBus.ObjectManager GetManagedObjects)
check_contains "the ObjectManager lists the PFs with their properties" "$managed" \
        "\"$IFACE_PF\" 11 \"Address\" s \"$TK_PF\""

# --- A configured PF that is not there.
check_eq "an absent PF is gone" "$(prop "$ABSENT" "$IFACE_PF" State)" 's "gone"'
check_eq "... and says why" "$(prop "$ABSENT" "$IFACE_PF" StateReason)" 's "the device is absent"'
check_eq "an absent PF has no VFs" "$(prop "$ABSENT" "$IFACE_PF" NumVFs)" "u 0"
check_eq "an absent PF lists no VFs" "$(prop "$ABSENT" "$IFACE_PF" VirtualFunctions)" "as 0"
check_eq "an absent PF has no token" "$(generation "$ABSENT")" 0
check_eq "AcquireToken on an absent PF: DeviceGone" \
        "$(call root "${MANAGER[@]}" AcquireToken 'sa{sv}' "$ABSENT_PF" 0)" org.vfio.Tokend1.Error.DeviceGone
rc=0
tokenctl root acquire "$ABSENT_PF" >/dev/null 2>&1 || rc=$?
check_eq "vfio-tokenctl acquire on an absent PF exits 6" "$rc" 6
check_eq "AcquireToken on a VF of an absent PF: NoSuchDevice (its VFs are unknown)" \
        "$(call root "${MANAGER[@]}" AcquireToken 'sa{sv}' 0000:05:00.1 0)" org.vfio.Tokend1.Error.NoSuchDevice

# --- Alice (group kvm-test, granted PF $TK_PF by the rules) gets the token the kernel holds.
rc=0
out=$(tokenctl alice acquire "$VF1" 2>"$TK_TMP/err") || rc=$?
seen "$out"
token=$out
check_eq "alice: vfio-tokenctl acquire exits 0" "$rc" 0
check "alice: it prints the token and nothing else" grep -qxE "$UUID_RE" <<<"$out"
check_eq "alice: nothing on stderr" "$(cat "$TK_TMP/err")" ""
check_eq "alice: it is the token the kernel holds" "$(model_token "$TK_PF")" "$token"
check_eq "the token opens the VF" "$(vf_open "$VF1" "$token")" OK
check_eq "no token: the VF does not open" "$(vf_open "$VF1")" EACCES
check_eq "a wrong token: the VF does not open" "$(vf_open "$VF1" "$WRONG_TOKEN")" EACCES
out=$(tokenctl alice acquire "$TK_PF" 2>/dev/null) || true
seen "$out"
check_eq "alice gets the same token for the PF's own address" "$out" "$token"
check_eq "PhysicalFunction.AcquireToken on its VF works" \
        "$(call alice "$PF" "$IFACE_PF" AcquireToken 'sa{sv}' "$VF2" 0)" ok
# A lease ends when the daemon learns its client has gone, not when the client exits.
check "the leases ended with their clients" wait_until leases_are "$PF" 0

# --- Refusals.
rc=0
out=$(tokenctl bob acquire "$VF1" 2>"$TK_TMP/err") || rc=$?
seen "$out"
check_eq "bob (no group): vfio-tokenctl exits 3" "$rc" 3
check_eq "bob: no token on stdout" "$out" ""
check_eq "bob: one line on stderr" "$(wc -l <"$TK_TMP/err")" 1
check_contains "bob: it says why" "$(cat "$TK_TMP/err")" "Not authorised"
check_eq "bob: AccessDenied" "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$VF1" 0)" \
        org.freedesktop.DBus.Error.AccessDenied
rc=0
out=$(tokenctl carol acquire "$VF1" 2>/dev/null) || rc=$?
seen "$out"
check_eq "carol (rule for another PF): vfio-tokenctl exits 3" "$rc" 3
check_eq "carol: no token on stdout" "$out" ""
check_eq "carol: AccessDenied" "$(call carol "${MANAGER[@]}" AcquireToken 'sa{sv}' "$VF2" 0)" \
        org.freedesktop.DBus.Error.AccessDenied
# A rule that demands authentication (bob on the other PF): the daemon answers
# InteractiveAuthorizationRequired, whether or not the caller allowed interaction (with it,
# polkit 122 finds no agent in the tests and still answers with a challenge). No token either way.
for interactive in no yes; do
        check_eq "bob, authentication required (interactive=$interactive): InteractiveAuthorizationRequired" \
                "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$OTHER_VF" 0 \
                        --allow-interactive-authorization=$interactive)" \
                org.freedesktop.DBus.Error.InteractiveAuthorizationRequired
done
check_eq "carol gets her own PF's token" "$(call carol "${MANAGER[@]}" AcquireToken 'sa{sv}' "$OTHER_VF" 0)" ok
check_eq "alice is refused another PF's token" \
        "$(call alice "${MANAGER[@]}" AcquireToken 'sa{sv}' "$OTHER_VF" 0)" org.freedesktop.DBus.Error.AccessDenied

# --- Unknown devices: NoSuchDevice, decided before authorisation.
rc=0
tokenctl alice acquire "$UNKNOWN_VF" >/dev/null 2>&1 || rc=$?
check_eq "unknown device: vfio-tokenctl exits 4" "$rc" 4
check_eq "unknown device: NoSuchDevice" \
        "$(call alice "${MANAGER[@]}" AcquireToken 'sa{sv}' "$UNKNOWN_VF" 0)" org.vfio.Tokend1.Error.NoSuchDevice
check_eq "bob asking for an unknown device: NoSuchDevice, not AccessDenied" \
        "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$UNKNOWN_VF" 0)" org.vfio.Tokend1.Error.NoSuchDevice
check_eq "a PF object refuses another PF's VF: NoSuchDevice" \
        "$(call root "$PF" "$IFACE_PF" AcquireToken 'sa{sv}' "$OTHER_VF" 0)" org.vfio.Tokend1.Error.NoSuchDevice
check_eq "GetPhysicalFunction of an unknown device: NoSuchDevice" \
        "$(call bob "${MANAGER[@]}" GetPhysicalFunction s "$UNKNOWN_VF")" org.vfio.Tokend1.Error.NoSuchDevice

# --- Bad arguments: InvalidArgs, decided before the device and before authorisation.
rc=0
out=$(tokenctl alice acquire 0000:1:00.1 2>/dev/null) || rc=$?
check_eq "malformed address: vfio-tokenctl exits 2" "$rc" 2
check_eq "malformed address: no token" "$out" ""
for bad in 0000:1:00.1 0000:01:00.8 0000:01:20.1 01:00.1 "" "0000:01:00.1 x"; do
        check_eq "bob, malformed address '$bad': InvalidArgs" \
                "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$bad" 0)" org.freedesktop.DBus.Error.InvalidArgs
done
check_eq "alice, unknown option key: InvalidArgs" \
        "$(call alice "${MANAGER[@]}" AcquireToken 'sa{sv}' "$VF1" 1 Interactive b true)" \
        org.freedesktop.DBus.Error.InvalidArgs
check_eq "bob, unknown option key: InvalidArgs, not AccessDenied" \
        "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$VF1" 1 Interactive b true)" \
        org.freedesktop.DBus.Error.InvalidArgs
check_eq "unknown option key and unknown device: InvalidArgs, not NoSuchDevice" \
        "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$UNKNOWN_VF" 1 foo s bar)" \
        org.freedesktop.DBus.Error.InvalidArgs
check_eq "PhysicalFunction.AcquireToken checks its arguments first too" \
        "$(call bob "$PF" "$IFACE_PF" AcquireToken 'sa{sv}' "$VF1" 1 foo s bar)" \
        org.freedesktop.DBus.Error.InvalidArgs
# A long key whose 64th byte falls inside a UTF-8 character: the daemon echoes at most 64 bytes
# of it, and must cut at a character boundary or it cannot build the reply at all (found by
# fuzz/fuzz-bus-options.c).
long_key="$(printf 'a%.0s' {1..63})é"
check_eq "a 64-byte key cut inside a UTF-8 character: still a clean InvalidArgs" \
        "$(call bob "${MANAGER[@]}" AcquireToken 'sa{sv}' "$VF1" 1 "$long_key" s x)" \
        org.freedesktop.DBus.Error.InvalidArgs
check_eq "the refused calls left no lease" "$(prop "$PF" "$IFACE_PF" Leases)" "ao 0"

# --- exec: the command gets the token, and the lease lives exactly as long as the command.
rc=0
# shellcheck disable=SC2016 # expanded by the command's shell
show='echo "$VFIO_VF_TOKEN"; busctl --system get-property "$0" "$1" "$2" Leases'
out=$(tokenctl alice exec "$VF2" -- sh -c "$show" "$TK_BUS_NAME" "$PF" "$IFACE_PF" 2>"$TK_TMP/err") || rc=$?
seen "$out"
check_eq "exec exits with the command's status" "$rc" 0
check_eq "exec: the command sees the token in VFIO_VF_TOKEN" "$(sed -n 1p <<<"$out")" "$token"
check "exec: the lease exists while the command runs" \
        grep -qE '^ao 1 "/org/vfio/Tokend1/lease/[0-9]+"$' <<<"$(sed -n 2p <<<"$out")"
check_eq "exec: nothing on stderr" "$(cat "$TK_TMP/err")" ""
check "exec: the lease is gone after the command" wait_until leases_are "$PF" 0
rc=0
tokenctl alice exec "$VF2" -- sh -c 'exit 7' >/dev/null 2>&1 || rc=$?
check_eq "exec passes the command's exit status on" "$rc" 7
check "... and its lease ends too" wait_until leases_are "$PF" 0
rc=0
out=$(tokenctl bob exec "$VF2" -- sh -c 'echo ran' 2>/dev/null) || rc=$?
check_eq "exec as bob: refused with exit 3" "$rc" 3
check_eq "exec as bob: the command does not run" "$out" ""

# --- Introspection: the three interfaces exactly as in dbus/org.vfio.Tokend1.xml.

# Rewrites sd-bus's introspection lines in a form that does not depend on sd-bus's version: one
# element per line indented one space a level (from $1), attributes in a fixed order, and an
# element without children self-closed.
canonical_xml() {
        awk -v depth="$1" '
        function indent(d,   s) { s = ""; while (d-- > 0) s = s " "; return s }
        function element(tag, rest,   n, i, o, kv, eq, k, names, vals, order, out) {
                n = 0
                while (match(rest, /[A-Za-z_.:-]+="[^"]*"/)) {
                        kv = substr(rest, RSTART, RLENGTH)
                        rest = substr(rest, RSTART + RLENGTH)
                        eq = index(kv, "=")
                        k = substr(kv, 1, eq - 1)
                        names[++n] = k
                        vals[k] = substr(kv, eq + 1)
                }
                out = "<" tag
                split("name type direction access value", order, " ")
                for (o = 1; o <= 5; o++)
                        if (order[o] in vals) {
                                out = out " " order[o] "=" vals[order[o]]
                                delete vals[order[o]]
                        }
                for (i = 1; i <= n; i++)
                        if (names[i] in vals)
                                out = out " " names[i] "=" vals[names[i]]
                return out
        }
        {
                line = $0
                sub(/^[ \t]+/, "", line)
                sub(/[ \t]+$/, "", line)
                if (line == "")
                        next
                if (line ~ /^<\//) {
                        depth--
                        if (pending != "")
                                print indent(depth) pending "/>"
                        else
                                print indent(depth) line
                        pending = ""
                        next
                }
                if (pending != "")
                        print indent(depth - 1) pending ">"
                pending = ""
                tag = substr(line, 2)
                sub(/[ \/>].*$/, "", tag)
                if (line ~ /\/>$/)
                        print indent(depth) element(tag, substr(line, length(tag) + 2)) "/>"
                else {
                        pending = element(tag, substr(line, length(tag) + 2))
                        depth++
                }
        }'
}

# The element of interface $2 in the introspection data of object $1.
interface_xml() {
        bus_call --xml-interface introspect "$TK_BUS_NAME" "$1" |
                awk -v open="<interface name=\"$2\">" '
                        { line = $0; sub(/^[ \t]+/, "", line) }
                        line == open { p = 1 }
                        p { print }
                        p && line == "</interface>" { exit }' |
                canonical_xml 1
}

served_xml() {
        printf '%s\n' \
                '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"' \
                '"https://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">' \
                '<!-- vfio-tokend (bus name org.vfio.Tokend1): the interfaces of its objects,' \
                '     /org/vfio/Tokend1 (Manager), /org/vfio/Tokend1/pf/<address> (PhysicalFunction) and' \
                '     /org/vfio/Tokend1/lease/<n> (Lease), as the daemon serves them; see org.vfio.Tokend1(5).' \
                '     tests/integration/test-api.sh checks that this file stays identical to them. -->' \
                '<node>'
        interface_xml /org/vfio/Tokend1 org.vfio.Tokend1.Manager
        interface_xml "$PF" "$IFACE_PF"
        interface_xml "$1" "$IFACE_LEASE"
        echo '</node>'
}

hold alice "$VF1" "$TK_TMP/hold.out"
lease=$(prop "$PF" "$IFACE_PF" Leases | awk '{ print $NF }' | tr -d '"') # the newest
served_xml "$lease" >"$TK_TMP/served.xml"
if [[ -n ${TK_INTROSPECT_OUT:-} ]]; then
        cp "$TK_TMP/served.xml" "$TK_INTROSPECT_OUT"
fi
check "the daemon serves the three interfaces" test "$(grep -c '^ <interface ' "$TK_TMP/served.xml")" -eq 3
check "introspection matches dbus/org.vfio.Tokend1.xml" \
        diff -u "$TK_SRCDIR/dbus/org.vfio.Tokend1.xml" "$TK_TMP/served.xml"

check_no_token_leaks
