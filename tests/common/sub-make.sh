# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Sourced by the shell tests that install into a staging directory (tests/cli/lib.sh,
# tests/dist/test-pkgconfig.sh); the caller sets builddir.

# sub_make ARGS...: make in the build tree, as if run there by hand (not as part of the make
# that runs the tests: none of its flags, jobserver or directory messages).
sub_make() {
        # shellcheck disable=SC2154 # set by the caller
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -s -C "$builddir" "$@"
}
