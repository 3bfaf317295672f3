#!/bin/bash
# Short bounded libFuzzer runs (make check-fuzz): run-fuzz.sh CORPUS-DIR TARGET...
# Runs fuzz/build/fuzz-TARGET on a copy of CORPUS-DIR/TARGET for $FUZZ_TIME s or $FUZZ_RUNS runs;
# a crash, leak, timeout or sanitizer report fails it and the input is kept in fuzz/build/.
set -uo pipefail
corpus=$1
shift
fail=0
for t in "$@"; do
        tmp=$(mktemp -d "${TMPDIR:-/tmp}/vfio-tokend-fuzz.XXXXXX") || exit 1
        mkdir "$tmp/corpus" && cp "$corpus/$t"/* "$tmp/corpus/" || { rm -rf "$tmp"; exit 1; }
        seeds=$(find "$tmp/corpus" -type f | wc -l)
        if UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "./fuzz/build/fuzz-$t" \
                -max_total_time="${FUZZ_TIME:-15}" -runs="${FUZZ_RUNS:-2000000}" -timeout=10 \
                -artifact_prefix="$tmp/" "$tmp/corpus" >"$tmp/log" 2>&1; then
                runs=$(sed -n 's/^#\([0-9]*\)[[:space:]]*DONE.*/\1/p' "$tmp/log" | tail -n 1)
                echo "PASS: fuzz-$t (${runs:-?} runs, corpus $seeds -> $(find "$tmp/corpus" -type f | wc -l))"
        else
                fail=1
                echo "FAIL: fuzz-$t"
                tail -n 40 "$tmp/log" | sed 's/^/#   /'
                for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
                        [ -f "$a" ] || continue
                        cp "$a" fuzz/build/ && echo "#   input kept: fuzz/build/${a##*/} (rerun: ./fuzz/build/fuzz-$t fuzz/build/${a##*/})"
                done
        fi
        rm -rf "$tmp"
done
exit $fail
