# Adversarial suite (tests/adversarial/, issue 9): what a hostile local user can do to the daemon.
# bus-flood, a plain sd-bus client (it never links the daemon), floods a private bus with
# AcquireToken calls and counts the answers; the test scripts run it as the integration harness's
# users against the daemon on the kernel model and assert outcomes only, never timings. Needs root
# (skipped, 77, otherwise). Part of `make check`, not of check-integration-valgrind.
noinst_PROGRAMS += tests/adversarial/bus-flood
tests_adversarial_bus_flood_SOURCES = tests/adversarial/bus-flood.c
tests_adversarial_bus_flood_LDADD = common/libcommon.a $(SYSTEMD_LIBS)

adversarial_tests = \
	tests/adversarial/test-flood.sh \
	tests/adversarial/test-hoard.sh \
	tests/adversarial/test-early-disconnect.sh \
	tests/adversarial/test-polkit-outage.sh \
	tests/adversarial/test-bus-loss.sh
TESTS += tests/adversarial/run.sh
EXTRA_DIST += \
	$(adversarial_tests) \
	tests/adversarial/run.sh \
	tests/adversarial/adv-lib.sh

check-adversarial: all
	$(AM_TESTS_ENVIRONMENT) bash $(srcdir)/tests/adversarial/run.sh
.PHONY: check-adversarial
