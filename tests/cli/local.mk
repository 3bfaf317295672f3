# Command-line tests: the built programs run as a user runs them, by scripts, with no root and no
# real daemon. vfio-tokenctl's usage errors, the output and exit code of every verb (text and
# --json), its --json keys against vfio-tokenctl(1) and its shell completion, against fake-tokend,
# a stand-in for the daemon on a private dbus-daemon (lib.sh); vfio-tokend's own command line and
# --check-config (tests/common/check.sh).
check_PROGRAMS += tests/cli/fake-tokend
tests_cli_fake_tokend_LDADD = $(SYSTEMD_LIBS)
cli_tests = \
	tests/cli/test-tokenctl-usage.sh \
	tests/cli/test-tokenctl-json.sh \
	tests/cli/test-tokenctl-completion.sh \
	tests/cli/test-tokend-cli.sh
TESTS += $(cli_tests)
dist_noinst_SCRIPTS += $(cli_tests)
dist_noinst_DATA += tests/cli/lib.sh
