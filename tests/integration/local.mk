# Integration tests: real dbus-daemon + polkitd on a private bus in a private mount namespace
# (tests/integration/lib.sh), the daemon running against the kernel model. Need root; skipped
# (77) otherwise. run.sh runs every tests/integration/test-*.sh, each in its own namespace.
integration_tests = \
	tests/integration/test-harness.sh \
	tests/integration/test-api.sh \
	tests/integration/test-leases.sh \
	tests/integration/test-restart.sh \
	tests/integration/test-reload.sh \
	tests/integration/test-lease-restart.sh \
	tests/integration/test-cdev.sh \
	tests/integration/test-qemu.sh
TESTS += tests/integration/run.sh
EXTRA_DIST += \
	$(integration_tests) \
	tests/integration/run.sh \
	tests/integration/lib.sh \
	tests/integration/tokend-lib.sh \
	tests/integration/rules/50-test.rules

check-integration: all
	$(AM_TESTS_ENVIRONMENT) bash $(srcdir)/tests/integration/run.sh
# The same with the daemon under valgrind's memcheck (errors and definite/indirect leaks fail).
check-integration-valgrind: all
	$(AM_TESTS_ENVIRONMENT) TK_VALGRIND=1 TK_STARTUP_TIMEOUT=120 bash $(srcdir)/tests/integration/run.sh
.PHONY: check-integration check-integration-valgrind
