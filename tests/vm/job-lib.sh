# shellcheck shell=bash
#
# Sourced by the guest jobs that run the integration harness (job-daemon.sh, job-qemu.sh), right
# after `. tests/integration/lib.sh` and `harness_enter_namespace "$@"`: lib.sh's assertions in
# the VM suite's PASS/FAIL form, the guest's facts (guest-lib.sh: $VM_PF, $VM_VFS, vm_group...),
# and what both jobs record tokens and wait with. Sets PF, VF1, VF2 and UUID_RE; the job sets
# SEEN (after harness_start: a file under $TK_TMP) for seen().

# Variables here are for the jobs that source this file.
# shellcheck disable=SC2034

tk_result() {
        TK_CHECKS=$((TK_CHECKS + 1))
        if (($1)); then
                printf 'PASS: %s\n' "$2"
        else
                TK_FAILURES=$((TK_FAILURES + 1))
                printf 'FAIL: %s\n' "$2"
        fi
}

# shellcheck source=tests/vm/guest-lib.sh
. "$VM_LIB"
PF=$VM_PF
read -r VF1 VF2 _ <<<"$VM_VFS"
UUID_RE='[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

# seen TEXT: records every token-like string in TEXT in $SEEN, for the job's leak check.
seen() {
        grep -oE "$UUID_RE" <<<"$1" >>"$SEEN" || true
}

# wait_until CMD...: poll CMD until it succeeds, for at most TK_STARTUP_TIMEOUT seconds (by the
# clock: a bus call alone takes a good part of a second under TCG).
wait_until() {
        local end=$((SECONDS + TK_STARTUP_TIMEOUT))
        while ((SECONDS <= end)); do
                "$@" && return 0
                sleep 0.05
        done
        return 1
}
