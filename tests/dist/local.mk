# Checks of the shipped files against the behaviour, no root:
#  - test-man.sh: every man page renders without a groff warning, and the pages agree with the
#    daemon: PF object paths as sd_bus_path_encode() makes them (path-encode asks sd-bus), the
#    error names it can send, and the configuration errors as --check-config prints them;
#  - test-unit-security.sh: the unit's `systemd-analyze security` exposure stays <= 0.8 (issue 5),
#    and `systemd-analyze verify` passes;
#  - test-pkgconfig.sh: the library, headers and vfio-token.pc installed with DESTDIR build and
#    link a program outside the tree with plain pkg-config.
check_PROGRAMS += tests/dist/path-encode
tests_dist_path_encode_LDADD = $(SYSTEMD_LIBS)
shipped_file_tests = \
	tests/dist/test-man.sh \
	tests/dist/test-unit-security.sh \
	tests/dist/test-pkgconfig.sh
TESTS += $(shipped_file_tests)
dist_noinst_SCRIPTS += $(shipped_file_tests)
