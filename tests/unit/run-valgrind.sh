#!/bin/bash
# Runs each unit test program given under valgrind's memcheck (errors and definite/indirect
# leaks fail), one line per program, then "valgrind: N passed, N failed". make check-valgrind.
set -uo pipefail
pass=0
fail=0
for t in "$@"; do
        if CK_FORK=no CK_DEFAULT_TIMEOUT=600 valgrind --quiet --error-exitcode=99 --leak-check=full \
                --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
                "./$t" >"$t.valgrind.log" 2>&1; then
                echo "PASS: valgrind $t"
                pass=$((pass + 1))
        else
                echo "FAIL: valgrind $t (see $t.valgrind.log)"
                tail -n 30 "$t.valgrind.log"
                fail=$((fail + 1))
        fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
