#!/bin/bash
# The allowed directions of #include in the source tree (README "Architecture"); run by
# `make check`. Prints every include that crosses a forbidden direction and fails if any does.
#
#   common/      the base: includes nothing of the project but common/
#   client/      common/ and client/ only (never daemon/)
#   daemon/, by layer, from the bottom:
#     boundary   vfio.h (the kernel boundary) and bus-emit.[ch] (the core's way out to the bus):
#                common/ only (vfio.c also its syscall table, its uapi supplement and the PCI
#                address grammar)
#     core       manager, pf, lease, state*, fdstore, sysfs, config*, token, log, setup, ...:
#                never the bus face (bus-emit.h is the one way out), never polkit.h
#     bus face   bus-*.c, bus-*.h, polkit.*: the manager's interface, never the kernel or sysfs
#                boundary, the PF's insides, the state files or the fd store
#     main.c     anything in daemon/
#   pf-internal.h is for pf.c (and unit tests) only.
set -uo pipefail
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1

bad=0
report() { # FILE LINE HEADER WHY
        echo "check-includes: $1:$2: #include \"$3\": $4"
        bad=$((bad + 1))
}

is_common() { [[ -f common/$1 ]]; }
is_client() { [[ -f client/$1 ]]; }
is_daemon() { [[ -f daemon/$1 && ! -f common/$1 ]]; }

bus_forbidden='^(vfio\.h|vfio-syscalls\.h|vfio-uapi\.h|sysfs\.h|pf-internal\.h|state\.h|state-file\.h|state-format\.h|fdstore\.h|setup\.h|config-internal\.h)$'

while IFS=: read -r file line text; do
        h=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
        [[ -n $h ]] || continue
        base=${file##*/}
        case $file in
        common/*)
                is_common "$h" || report "$file" "$line" "$h" "common/ includes only common/"
                ;;
        client/*)
                is_daemon "$h" && report "$file" "$line" "$h" "the client never includes daemon/"
                is_common "$h" || is_client "$h" || report "$file" "$line" "$h" "client/ includes only common/ and client/"
                ;;
        daemon/*)
                [[ $h == pf-internal.h && $base != pf.c && $base != pf-internal.h ]] &&
                        report "$file" "$line" "$h" "only pf.c sees the inside of a PF"
                case $base in
                vfio.h | bus-emit.h | bus-emit.c)
                        is_common "$h" || [[ $h == "$base" || $h == "${base%.c}.h" ]] ||
                                report "$file" "$line" "$h" "a boundary includes nothing of the daemon"
                        ;;
                vfio.c)
                        is_common "$h" || [[ $h =~ ^(vfio\.h|vfio-syscalls\.h|vfio-uapi\.h|pci-address\.h)$ ]] ||
                                report "$file" "$line" "$h" "the kernel boundary includes nothing of the daemon"
                        ;;
                main.c) ;;
                bus-* | polkit.*)
                        [[ $h =~ $bus_forbidden ]] &&
                                report "$file" "$line" "$h" "the bus face asks the manager, never the kernel, sysfs, state or a PF's insides"
                        ;;
                *)
                        [[ $h == bus-* && $h != bus-emit.h ]] &&
                                report "$file" "$line" "$h" "the core reaches the bus only through bus-emit.h"
                        [[ $h == polkit.h ]] && report "$file" "$line" "$h" "the core never asks polkit"
                        ;;
                esac
                ;;
        esac
done < <(grep -n -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' common/*.[ch] client/*.[ch] daemon/*.[ch] 2>/dev/null)

if ((bad > 0)); then
        echo "check-includes: $bad include(s) cross a forbidden direction (see tools/check-includes.sh)."
        exit 1
fi
echo "check-includes: every include keeps to the allowed directions."
