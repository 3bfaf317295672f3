#!/bin/bash
# make check: each fuzz target, built as a plain program (fuzz/replay-TARGET, see
# fuzz/replay-main.c), replays its seed corpus in fuzz/corpus/TARGET/ once. A crash, a sanitizer
# report or a non-zero exit fails; the long runs stay in `make check-fuzz`. The targets are the
# corpus directories, as for check-fuzz (every target has one).
set -uo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
fail=0
n=0
for dir in "$top_srcdir"/fuzz/corpus/*/; do
        t=$(basename "$dir")
        seeds=("$dir"*)
        n=$((n + 1))
        if [ ! -e "${seeds[0]}" ]; then
                echo "FAIL: replay-$t: no seeds in fuzz/corpus/$t"
                fail=1
        elif "$top_builddir/fuzz/replay-$t" "${seeds[@]}"; then
                echo "PASS: replay-$t (${#seeds[@]} seeds)"
        else
                echo "FAIL: replay-$t (exit $?)"
                fail=1
        fi
done
[ "$n" -gt 0 ] || { echo "FAIL: no corpus directories in fuzz/corpus"; fail=1; }
exit $fail
