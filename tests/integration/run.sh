#!/bin/bash
# Run integration tests: run.sh [tests/integration/test-*.sh ...]
#
# With no arguments, runs every test-*.sh beside this script. Each test runs in a mount
# namespace of its own (lib.sh makes it), under a time limit (TK_TEST_TIMEOUT, default
# 600 s); anything a test leaves running in its namespace is killed and fails the test.
# Prints a line per test and then "N passed, N failed"; exits 1 if any failed, 77 if there
# was nothing to run or all were skipped (not root, tools missing), else 0.
#
# Also usable as an automake LOG_COMPILER: then it is given one test at a time.
set -euo pipefail

# In sanitizer builds, LeakSanitizer stays off here: the daemon drops to another uid, which
# makes it non-dumpable, and LeakSanitizer then cannot stop the world at exit and aborts. Leaks
# are covered by the unit tests (LeakSanitizer and valgrind) and by valgrind runs of the daemon.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

if [[ $EUID -ne 0 ]]; then
        echo "SKIP: integration tests must run as root" >&2
        exit 77
fi
command -v unshare >/dev/null || { echo "SKIP: unshare not found" >&2; exit 77; }
if [[ ${_TK_RUN_NS:-} != "$$" ]]; then
        export _TK_RUN_NS=$$
        exec unshare --mount --propagation private -- "$BASH" "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
timeout_s=${TK_TEST_TIMEOUT:-600}

if (($# > 0)); then
        tests=("$@")
else
        tests=("$here"/test-*.sh)
        [[ -e ${tests[0]} ]] || { echo "SKIP: no tests in $here" >&2; exit 77; }
fi

state=$(mktemp -d /tmp/vfio-tokend-run.XXXXXX)
trap 'rm -rf "$state"' EXIT

# Kill (by pid) whatever still runs in the mount namespaces a test recorded; print how many.
reap_leftovers() {
        local pid n=0
        [[ -s $state/ns ]] || { echo 0; return; }
        # One stat for all: "'/proc/PID/ns/mnt' -> 'mnt:[INODE]'".
        for pid in $(stat -c %N /proc/[0-9]*/ns/mnt 2>/dev/null |
                     awk -v list="$state/ns" '
                        BEGIN { while ((getline l < list) > 0) want["\047" l "\047"] = 1 }
                        $3 in want { split($1, p, "/"); print p[3] }'); do
                echo "# left behind: pid $pid $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" >&2
                kill -KILL "$pid" 2>/dev/null || true
                n=$((n + 1))
        done
        echo "$n"
}

passed=0 failed=0 skipped=0
for t in "${tests[@]}"; do
        name=${t##*/}
        : >"$state/ns"
        start=$EPOCHREALTIME
        rc=0
        TK_RUN_STATE=$state timeout --kill-after=10 "$timeout_s" "$BASH" "$t" || rc=$?
        secs=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
        left=$(reap_leftovers)
        if ((left > 0)); then
                echo "# $name left $left process(es) running" >&2
                ((rc == 0 || rc == 77)) && rc=1
        fi
        case $rc in
        0) passed=$((passed + 1)); echo "PASS: $name (${secs} s)" ;;
        77) skipped=$((skipped + 1)); echo "SKIP: $name" ;;
        124) failed=$((failed + 1)); echo "FAIL: $name (timed out after ${timeout_s} s)" ;;
        *) failed=$((failed + 1)); echo "FAIL: $name (exit $rc, ${secs} s)" ;;
        esac
done

((skipped > 0)) && echo "$skipped skipped"
echo "$passed passed, $failed failed"
((failed > 0)) && exit 1
((passed == 0)) && exit 77
exit 0
