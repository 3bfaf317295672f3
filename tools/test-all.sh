#!/bin/bash
# Runs every test of vfio-tokend; the README's test command, and what CI runs (.ci/run).
#   unit (check) + integration (real dbus-daemon + polkitd) + adversarial + command-line (cli)
#   + shipped-file (dist: man pages, unit, pkg-config) checks,
#   the unit tests and the integration tests' daemon under valgrind, everything again under
#   ASan/UBSan, libFuzzer smoke runs,
#   make distcheck, the Debian package (dpkg-buildpackage + lintian), and the VM suite (the real
#   kernel's vfio-pci in QEMU).
# Needs root (namespaces, polkitd, QEMU); installs its dependencies with apt-get first.
# Builds out of tree in _build/, _build-asan/ and _build-deb/. Ends with a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
src=$PWD
jobs=${JOBS:-2}

if [ "$(id -u)" -ne 0 ]; then
        echo "test-all: run as root (sudo $0): the tests use mount namespaces, polkitd and QEMU." >&2
        exit 1
fi
bash tools/deps.sh || exit 1

# The VM suite's IOMMUFD kernel (tests/vm/build-kernel-7.3.sh) takes 20-30 minutes to build when
# the cache has none: under CI it starts now, niced, in its own session, so that it builds while
# the host-side stages run; the VM suite waits for it (the build's lock) and finds it cached.
kernel_pid=
if [ "${CI:-}" = true ] && ! bash tests/vm/build-kernel-7.3.sh --cached >/dev/null 2>&1; then
        mkdir -p "${VM_CACHE:-tests/vm/cache}/logs"
        setsid nice -n 19 bash tests/vm/build-kernel-7.3.sh >/dev/null \
                2>"${VM_CACHE:-tests/vm/cache}/logs/build-kernel-7.3.err" </dev/null &
        kernel_pid=$!
        trap '[ -z "$kernel_pid" ] || kill -- -"$kernel_pid" 2>/dev/null' EXIT
        echo "test-all: building the IOMMUFD guest kernel in the background (pid $kernel_pid)"
fi

passed=0
failed=0
failures=()

# Adds the PASS/FAIL counts of an automake test-suite.log to the totals.
count_suite() {
        local log=$1 p f
        [ -f "$log" ] || return 0
        p=$(awk '/^# PASS:/ { print $3 }' "$log")
        f=$(awk '/^# (FAIL|ERROR|XPASS):/ { s += $3 } END { print s + 0 }' "$log")
        passed=$((passed + ${p:-0}))
        failed=$((failed + ${f:-0}))
}

stage() {
        local name=$1
        shift
        echo
        echo "=== $name"
        if "$@"; then
                echo "=== $name: ok"
                return 0
        fi
        echo "=== $name: FAILED"
        failures+=("$name")
        return 1
}

show_failed_logs() {
        local dir=$1
        find "$dir" -name '*.log' -newer "$dir/Makefile" -print0 2>/dev/null |
                xargs -0 -r grep -l -E '^(FAIL|ERROR)' 2>/dev/null | while read -r f; do
                echo "----- $f"
                tail -n 60 "$f"
        done
}

# An in-tree configuration would make out-of-tree builds refuse to configure.
if [ -f config.status ]; then
        echo "test-all: the source tree is configured in place; cleaning it (make distclean)."
        make distclean >/dev/null 2>&1 || true
fi
stage "autoreconf" autoreconf -fi || { echo "0 passed, 1 failed"; exit 1; }

build() { # DIR CONFIGURE-ARGS...
        local dir=$1
        shift
        mkdir -p "$dir" && (cd "$dir" && "$src/configure" --enable-werror "$@" >configure.log 2>&1 ||
                { tail -n 30 configure.log; exit 1; }) && make -C "$dir" -j"$jobs" >/dev/null
}

check_in() { # DIR TARGET
        local dir=$1 target=$2 rc=0
        make -C "$dir" -j"$jobs" "$target" || rc=$?
        count_suite "$dir/test-suite.log"
        [ $rc -eq 0 ] || show_failed_logs "$dir"
        return $rc
}

# The Debian package (debian/): dpkg-buildpackage in a copy of the tree (the files git knows, and
# those it does not ignore), so the tree stays clean; then lintian, which must find no error and
# no warning. The package's own test run (the unit tests) is left out here: "make check" ran
# them already. Counts two checks: the build and lintian.
debian_package() { # DIR
        local dir=$1 copy=$1/vfio-tokend rc=0
        rm -rf "$dir" && mkdir -p "$copy" || return 1
        (cd "$src" && git ls-files -z --cached --others --exclude-standard) | (cd "$src" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null) |
                tar -C "$copy" -xf - || return 1
        if (cd "$copy" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" dpkg-buildpackage -us -uc -b) \
                >"$dir/build.log" 2>&1; then
                passed=$((passed + 1))
                ls "$dir"/*.deb
        else
                failed=$((failed + 1))
                tail -n 60 "$dir/build.log"
                return 1
        fi
        if lintian --fail-on error,warning "$dir"/vfio-tokend_*.changes; then
                passed=$((passed + 1))
        else
                failed=$((failed + 1))
                rc=1
        fi
        return $rc
}

# The VM suite prints its own "N passed, N failed" (each check on each kernel).
check_vm() { # DIR
        local rc=0 p f
        make -C "$1" check-vm 2>&1 | tee "$1/check-vm.log" || rc=$?
        read -r p f < <(awk '/^[0-9]+ passed, [0-9]+ failed/ { p = $1; f = $3 } END { print p + 0, f + 0 }' \
                "$1/check-vm.log")
        passed=$((passed + p))
        failed=$((failed + f))
        return $rc
}

distcheck() { # DIR
        make -C "$1" -j"$jobs" distcheck >"$1/distcheck.log" 2>&1 && return 0
        tail -n 80 "$1/distcheck.log"
        return 1
}

if stage "build (-Werror)" build "$src/_build"; then
        stage "make check" check_in "$src/_build" check
        if make -C "$src/_build" -j"$jobs" check-valgrind > "$src/_build/valgrind.out" 2>&1; then
                echo "=== valgrind: ok"
        else
                cat "$src/_build/valgrind.out"
                failures+=("valgrind")
        fi
        v=$(awk '/^valgrind: / { print $2, $4 }' "$src/_build/valgrind.out")
        passed=$((passed + ${v%% *}))
        failed=$((failed + ${v##* }))
        stage "integration tests, daemon under valgrind" make -C "$src/_build" check-integration-valgrind
        stage "fuzz smoke runs" make -C "$src/_build" check-fuzz
        stage "make distcheck" distcheck "$src/_build"
        stage "Debian package" debian_package "$src/_build-deb"
        stage "VM suite (real kernel)" check_vm "$src/_build"
else
        failed=$((failed + 1))
fi

if stage "build with ASan/UBSan" build "$src/_build-asan" --enable-sanitizers; then
        stage "make check (ASan/UBSan)" check_in "$src/_build-asan" check
else
        failed=$((failed + 1))
fi

echo
for f in "${failures[@]}"; do
        echo "FAILED stage: $f"
done
# Stages that failed without a test count of their own still count as one failure.
[ ${#failures[@]} -gt 0 ] && [ "$failed" -eq 0 ] && failed=${#failures[@]}
echo "$passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ] && [ "$failed" -eq 0 ]
