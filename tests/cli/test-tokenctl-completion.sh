#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The shell completion of vfio-tokenctl: the bash function, run as bash runs it (COMP_LINE and
# COMP_POINT) with the built vfio-tokenctl on PATH against fake-tokend, offers the commands and
# options of --help, the daemon's PFs, lease numbers, and after exec's DEVICE the command's own
# completion; the zsh function parses and names every option of --help; `make install` puts
# both where bash-completion and zsh look (the directories configure chose).

set -euo pipefail

# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

bash_file=$srcdir/client/completion/vfio-tokenctl
zsh_file=$srcdir/client/completion/_vfio-tokenctl
export PATH=$builddir/client:$PATH

failures=0
checks=0
pass() { echo "ok: $*"; }
fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# complete LINE: what the bash completion offers for LINE (the cursor at its end), one a line.
complete_bash() {
        # shellcheck disable=SC2016
        bash -c '. "$1"; COMP_LINE=$2; COMP_POINT=${#COMP_LINE}; _vfio_tokenctl; printf "%s\n" "${COMPREPLY[@]}"' \
                _ "$bash_file" "$1" </dev/null | sed '/^$/d' | sort
}

# expect_bash LINE WANT...: the bash completion of LINE is exactly WANT (in any order).
expect_bash() {
        local line=$1 got want
        shift
        checks=$((checks + 1))
        got=$(complete_bash "$line" | tr '\n' ' ')
        want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
        if [[ $got == "$want" ]]; then
                pass "bash: '$line' -> $got"
        else
                fail "bash: '$line' -> '$got', expected '$want'"
        fi
}

# expect_bash_has LINE WANT...: the bash completion of LINE includes each WANT.
expect_bash_has() {
        local line=$1 got w
        shift
        checks=$((checks + 1))
        got=$(complete_bash "$line")
        for w in "$@"; do
                if ! grep -qxF -- "$w" <<<"$got"; then
                        fail "bash: '$line' does not offer '$w' (it offers: $(tr '\n' ' ' <<<"$got"))"
                        return 0
                fi
        done
        pass "bash: '$line' offers $*"
}

checks=$((checks + 1))
if bash -n "$bash_file"; then pass "bash: the file parses"; else fail "bash: the file does not parse"; fi

# The commands and options, as --help has them.
mapfile -t commands < <(vfio-tokenctl --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
mapfile -t options < <(vfio-tokenctl --help | grep -oE -- '(^| )-(-[a-z-]+=?|[a-z])' | tr -d ' ' | sort -u)
expect_bash "vfio-tokenctl " "${commands[@]}"
expect_bash "vfio-tokenctl --json st" status
expect_bash_has "vfio-tokenctl -" "${options[@]}"
expect_bash "vfio-tokenctl --no-l" --no-legend
expect_bash "vfio-tokenctl acquire --tok" --token-fd=
expect_bash "vfio-tokenctl rotate 0000:3b:00.0 --f" --force

if start_bus && start_fake; then
        a=--address=$address
        # PFs from the daemon named by --address= (plus any device bound to vfio-pci here).
        expect_bash_has "vfio-tokenctl $a status " 0000:3b:00.0 0000:af:00.0
        expect_bash_has "vfio-tokenctl $a rotate --force " 0000:3b:00.0 0000:af:00.0
        # bash replaces the word after its last ':' only.
        expect_bash_has "vfio-tokenctl $a acquire 0000:a" af:00.0
        expect_bash_has "vfio-tokenctl $a exec --token-fd=3 0000:3b:0" 00.0
        expect_bash "vfio-tokenctl $a release " 1 2
        expect_bash "vfio-tokenctl $a leases " ""
        # After exec's DEVICE: a command, then its arguments (files here).
        expect_bash "vfio-tokenctl $a exec 0000:3b:02.0 vfio-tokenc" vfio-tokenctl
        expect_bash "vfio-tokenctl $a exec 0000:3b:02.0 -- vfio-tokenc" vfio-tokenctl
        mkdir "$tmp/files" && touch "$tmp/files/abc1" "$tmp/files/abc2"
        expect_bash "vfio-tokenctl $a exec 0000:3b:02.0 ls $tmp/files/ab" "$tmp/files/abc1" "$tmp/files/abc2"
        expect_bash "vfio-tokenctl $a exec 0000:3b:02.0 ls --al" ""
else
        echo "SKIP: no dbus-daemon or fake-tokend: device and lease completion not tested"
fi

# zsh: it parses, and describes every option of --help (its commands come from --help).
if command -v zsh >/dev/null; then
        checks=$((checks + 1))
        if zsh -n "$zsh_file"; then pass "zsh: the file parses"; else fail "zsh: the file does not parse"; fi
fi
checks=$((checks + 1))
missing=()
for o in "${options[@]}"; do
        # As '--json[...]', '--token-fd=[...]' or {-q,--quiet}'[...]'.
        grep -qE -- "(^|[^a-z-])${o%=}(=?\[|[,}])" "$zsh_file" || missing+=("$o")
done
if [[ ${#missing[@]} -eq 0 ]]; then
        pass "zsh: every option of --help is described"
else
        fail "zsh: options of --help not described: ${missing[*]}"
fi
checks=$((checks + 1))
if head -n1 "$zsh_file" | grep -qx '#compdef vfio-tokenctl'; then
        pass "zsh: #compdef vfio-tokenctl"
else
        fail "zsh: the first line is not '#compdef vfio-tokenctl'"
fi

# Installed where the shells look: the directories configure chose.
stage=$tmp/stage
if sub_make DESTDIR="$stage" install-dist_bashcompletionDATA install-dist_zshcompletionDATA \
        >"$tmp/install.out" 2>&1; then
        for f in vfio-tokenctl _vfio-tokenctl; do
                checks=$((checks + 1))
                # The directory as the Makefile has it, variables expanded.
                dir=$(sub_make -f - print-dir <<MK 2>/dev/null || true
include Makefile
print-dir:
	@echo \$(\$(if \$(filter _%,$f),zsh,bash)completiondir)
MK
)
                if [[ -n $dir && -f $stage$dir/$f ]] && cmp -s "$stage$dir/$f" "$srcdir/client/completion/$f"; then
                        pass "installed: $dir/$f"
                else
                        fail "not installed in the configured directory '$dir': $f ($(find "$stage" -type f | tr '\n' ' '))"
                fi
        done
else
        fail "make install of the completion files: $(cat "$tmp/install.out")"
fi

echo "$((checks - failures))/$checks checks passed"
[[ $failures -eq 0 ]]
