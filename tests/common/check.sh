# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the shell tests (tests/cli/test-tokend-cli.sh, tests/dist/test-man.sh): a temporary
# directory $tmp removed at exit, check DESCRIPTION CMD... printing "ok - ..." or "not ok - ...",
# and check_finish, which prints "N passed, N failed" and fails if any check did.
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # DESCRIPTION CMD...
        local desc=$1
        shift
        if "$@"; then
                passed=$((passed + 1))
                echo "ok - $desc"
        else
                failed=$((failed + 1))
                echo "not ok - $desc"
        fi
}

check_finish() {
        echo "$passed passed, $failed failed"
        [ "$failed" = 0 ]
}
