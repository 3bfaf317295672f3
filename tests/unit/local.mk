# Unit tests (check): one program per module, tests/unit/test-NAME.c for daemon/NAME.c (or
# client/NAME.c), built with the default flags and libraries below. Adding a test is one line
# in unit_tests; a test that needs more than the defaults says so in a per-target variable.
UNIT_LIBS = tests/common/libfixture.a $(MODEL_LIBS) $(CHECK_LIBS)
LDADD = $(UNIT_LIBS)

if HAVE_CHECK
unit_tests = \
	tests/unit/test-token \
	tests/unit/test-pci-address \
	tests/unit/test-config \
	tests/unit/test-sysfs \
	tests/unit/test-state \
	tests/unit/test-state-format \
	tests/unit/test-lease-file \
	tests/unit/test-fdstore \
	tests/unit/test-kmodel \
	tests/unit/test-vfio-cdev \
	tests/unit/test-pf \
	tests/unit/test-manager \
	tests/unit/test-lifecycle \
	tests/unit/test-libvfio-token \
	tests/unit/test-uid-count \
	tests/unit/test-lease \
	tests/unit/test-polkit \
	tests/unit/test-bus \
	tests/unit/test-bus-polkit \
	tests/unit/test-setup \
	tests/unit/test-qemu-args

check_PROGRAMS += $(unit_tests)
TESTS += $(unit_tests)

tests_unit_test_kmodel_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/scenarios
tests_unit_test_kmodel_LDADD = tests/scenarios/libscenarios.a $(UNIT_LIBS)
tests_unit_test_vfio_cdev_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/scenarios
tests_unit_test_vfio_cdev_LDADD = tests/scenarios/libscenarios.a $(UNIT_LIBS)
tests_unit_test_libvfio_token_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
tests_unit_test_libvfio_token_LDADD = client/libvfio-token.a $(SYSTEMD_LIBS) $(CHECK_LIBS)
tests_unit_test_qemu_args_SOURCES = tests/unit/test-qemu-args.c client/qemu-args.c client/qemu-args.h
tests_unit_test_qemu_args_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
tests_unit_test_qemu_args_LDADD = common/libcommon.a $(CHECK_LIBS)
endif

# The unit tests again under valgrind (memcheck: errors and definite/indirect leaks fail).
check-valgrind: $(unit_tests)
	@top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
		bash $(srcdir)/tests/unit/run-valgrind.sh $(unit_tests)
.PHONY: check-valgrind
dist_noinst_SCRIPTS += tests/unit/run-valgrind.sh

# What the two bus-face test programs share.
EXTRA_DIST += tests/unit/test-bus.h
