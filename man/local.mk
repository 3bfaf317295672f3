# man/: the manual pages.
dist_man_MANS = \
	man/vfio-tokend.8 \
	man/vfio-tokenctl.1 \
	man/vfio-tokend.conf.5 \
	man/org.vfio.Tokend1.5

# Every page renders without a groff warning, and the pages agree with the daemon: PF object
# paths as sd_bus_path_encode() makes them (path-encode asks sd-bus), the error names it can
# send, and the configuration errors as --check-config prints them.
check_PROGRAMS += tests/man/path-encode
tests_man_path_encode_LDADD = $(SYSTEMD_LIBS)
TESTS += tests/man/test-man.sh
dist_noinst_SCRIPTS += tests/man/test-man.sh
# (check DESCRIPTION CMD... for the shell tests, shared with tests/daemon/test-cli.sh)
EXTRA_DIST += tests/common/check.sh

# The contract and the architecture (docs/), installed by the Debian package.
EXTRA_DIST += docs/contract.md docs/architecture.md
