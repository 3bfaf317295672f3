#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cuts the tracers' logs of bench/profile.sh into what each call made happen.

bench-grant --loop writes when each call started (CLOCK_REALTIME ns and its name) to a trace
file, with the harness idle before each call; everything a tracer logged from one call's start to
the next call's start is that call's.

  profile-report.py monitor TRACE MONITOR-LOG DAEMON-NAME POLKIT-NAME
        bus messages per call (dbus-monitor --profile), and the messages of one grant and one
        release in order
  profile-report.py strace TRACE STRACE-LOG
        the daemon's syscalls per call (strace -f -ttt), and those of one grant in order
  profile-report.py callgrind ANNOTATE-SELF ANNOTATE-INCLUSIVE N
        instructions by object (callgrind_annotate output) and the daemon's functions, divided by N
"""

import bisect
import collections
import re
import sys


def load_trace(path):
    starts, names = [], []
    with open(path) as f:
        for line in f:
            ns, name = line.split()
            starts.append(int(ns) / 1e9)
            names.append(name)
    return starts, names


def segment(starts, t):
    """Index of the call whose interval holds wall-clock time t, or None."""
    i = bisect.bisect_right(starts, t) - 1
    return i if i >= 0 else None


def per_call_table(counts_by_call, names, unit):
    """Mean count of each item per call, for each kind of call."""
    kinds = collections.OrderedDict()
    for i, name in enumerate(names):
        if name != "end":
            kinds.setdefault(name, []).append(i)
    for kind, calls in kinds.items():
        total = collections.Counter()
        for i in calls:
            total.update(counts_by_call.get(i, {}))
        n = len(calls)
        all_items = sum(total.values()) / n
        print(f"  {kind}: {all_items:.1f} {unit} per call ({n} calls)")
        for item, c in total.most_common():
            print(f"      {c / n:6.2f}  {item}")
    return kinds


def print_sequences(kinds, sequences, wanted):
    """What one call of each wanted kind (the middle one) made happen, in order."""
    for kind in wanted:
        if kind in kinds:
            print(f"  one {kind}, in order:")
            for item in sequences[kinds[kind][len(kinds[kind]) // 2]]:
                print(f"      {item}")


def monitor(trace, log, daemon, polkit):
    starts, names = load_trace(trace)
    roles = {daemon: "daemon", "org.vfio.Tokend1": "daemon", polkit: "polkitd",
             "org.freedesktop.PolicyKit1": "polkitd", "org.freedesktop.DBus": "bus"}
    calls = {}  # (sender, serial) -> member, to name replies
    counts, sequences = {}, collections.defaultdict(list)
    with open(log) as f:
        for line in f:
            if line.startswith("#"):
                continue
            p = line.rstrip("\n").split("\t")
            if len(p) < 6 or p[0] not in ("mc", "mr", "sig", "err"):
                continue
            kind, t, serial, sender, dest = p[0], float(p[1]), p[2], p[3], p[4]
            if kind in ("mc", "sig"):
                member = p[7] if len(p) > 7 else "?"
                calls[(sender, serial)] = member
            else:
                member = "reply to " + calls.get((dest, p[5]), "?")
            i = segment(starts, t)
            if i is None:
                continue
            to = roles.get(dest, "client" if dest.startswith(":") else "all")
            who = f"{roles.get(sender, 'client')}->{to}"
            item = f"{kind:3} {who:18} {member}"
            counts.setdefault(i, collections.Counter())[item] += 1
            sequences[i].append(item)
    print("Bus messages per call, as dbus-monitor saw them (mc call, mr reply, sig signal):")
    kinds = per_call_table(counts, names, "messages")
    print_sequences(kinds, sequences,
                    ("AcquireToken", "Release", "CheckAuthorization", "AcquireToken(polkit)"))


STRACE_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(?:<\.\.\. )?([a-z0-9_]+)")


def strace(trace, log):
    starts, names = load_trace(trace)
    counts, sequences = {}, collections.defaultdict(list)
    with open(log) as f:
        for line in f:
            m = STRACE_LINE.match(line)
            if not m or "resumed>" in line or "+++" in line or "---" in line:
                continue
            t, name = float(m.group(2)), m.group(3)
            i = segment(starts, t)
            if i is None:
                continue
            counts.setdefault(i, collections.Counter())[name] += 1
            text = line.split(None, 2)[2].rstrip()
            sequences[i].append(text[:150])
    print("The daemon's syscalls per call, as strace -f saw them:")
    kinds = per_call_table(counts, names, "syscalls")
    print_sequences(kinds, sequences, ("AcquireToken", "AcquireToken(polkit)"))


ANNOTATE_ROW = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(\S.*?)(?:\s+\[(.*)\])?\s*$")


def annotate(path):
    """The program total and the function table of callgrind_annotate's output."""
    total, rows, table = 0, [], False
    with open(path) as f:
        for line in f:
            if "PROGRAM TOTALS" in line:
                total = int(line.split()[0].replace(",", ""))
            elif "file:function" in line:
                table = True
            elif table and line.startswith("-- "):
                break
            elif table:
                m = ANNOTATE_ROW.match(line)
                if m:
                    rows.append((int(m.group(1).replace(",", "")), m.group(2), m.group(3) or "?"))
    return total, rows


def callgrind(self_path, incl_path, calls):
    calls = int(calls)
    total, rows = annotate(self_path)
    # With --toggle-collect, the callers above the collected function (main, the event loop)
    # show the whole total as their own: they are left out.
    by_object = collections.Counter()
    for ir, _, obj in rows:
        if ir < total:
            by_object[obj.rsplit("/", 1)[-1]] += ir
    print(f"  {total / calls:,.0f} instructions, by object:")
    for obj, ir in by_object.most_common(6):
        print(f"      {ir / calls:10,.0f}  {100 * ir / total:5.1f}%  {obj}")
    inclusive = {}
    for ir, fn, obj in annotate(incl_path)[1]:
        name = fn.split(":", 1)[-1].split(" ")[0]
        inclusive[name] = max(ir, inclusive.get(name, 0))
    print("  inclusive, of the daemon's functions and sd-bus's entry points:")
    for name, ir in sorted(inclusive.items(), key=lambda x: -x[1]):
        if total / 50 <= ir < total and re.match(
                r"(method_|on_|bus_|manager_|lease_|polkit_|peer_|sd_bus_emit_|sd_bus_send$|sd_bus_reply|"
                r"sd_bus_query_sender_creds|sd_bus_call$|sd_bus_message_new|log_|fprintf|snprintf|malloc|free)",
                name):
            print(f"      {ir / calls:10,.0f}  {100 * ir / total:5.1f}%  {name}")


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 1
    cmd, args = argv[1], argv[2:]
    {"monitor": monitor, "strace": strace, "callgrind": callgrind}[cmd](*args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
