# Test support: the kernel model of the VF token rules (tests and demo only, never installed),
# the sysfs/dev fixtures, the VFIO scenario list run on the model and on a real kernel, and the
# shell tests' helpers.
noinst_LIBRARIES += tests/model/libkmodel.a
tests_model_libkmodel_a_SOURCES = \
	tests/model/kmodel.c tests/model/kmodel.h tests/model/kmodel-cdev.c \
	tests/model/kmodel-world.c tests/model/kmodel-world.h \
	tests/model/vfio-model.c
tests_model_libkmodel_a_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/model

# vfio-model's object is linked as an object, not pulled from the archive: nothing refers to it
# (its constructor installs the model's system calls into daemon/vfio.c), so the linker would
# leave it out. The model uses libtokend.a's vfio, sysfs and token code; nothing calls back.
MODEL_OBJS = tests/model/libkmodel_a-vfio-model.$(OBJEXT)
MODEL_LIBS = $(MODEL_OBJS) tests/model/libkmodel.a libtokend.a common/libcommon.a \
	$(SYSTEMD_LIBS) $(UUID_LIBS) $(CAPNG_LIBS)

# The daemon linked against the model: what the demo and the integration tests run.
noinst_PROGRAMS += tests/vfio-tokend-model
tests_vfio_tokend_model_SOURCES = daemon/main.c
tests_vfio_tokend_model_LDADD = $(MODEL_LIBS)
tests_vfio_tokend_model_DEPENDENCIES = $(MODEL_OBJS) tests/model/libkmodel.a libtokend.a

# Test fixtures: fake sysfs/dev trees for the model (used by unit tests, demo, integration).
noinst_LIBRARIES += tests/common/libfixture.a
tests_common_libfixture_a_SOURCES = tests/common/fixture.c tests/common/fixture.h \
	tests/common/fixture-internal.h tests/common/fixture-files.c \
	tests/common/fixture-devices.c tests/common/fixture-drivers.c \
	tests/common/test-util.c tests/common/test-util.h \
	tests/common/test-bus-util.c tests/common/test-bus-util.h

noinst_PROGRAMS += tests/common/mkfixture
tests_common_mkfixture_SOURCES = tests/common/mkfixture.c
tests_common_mkfixture_LDADD = tests/common/libfixture.a $(MODEL_LIBS)

# The shell tests' helpers (tests/cli/, tests/dist/): check DESCRIPTION CMD... and a make in the
# build tree.
EXTRA_DIST += tests/common/check.sh tests/common/sub-make.sh

# Opens a device through the model's group API as a VMM would (integration tests).
noinst_PROGRAMS += tests/model/kmodel-open
tests_model_kmodel_open_SOURCES = tests/model/kmodel-open.c
tests_model_kmodel_open_LDADD = tests/common/libfixture.a $(MODEL_LIBS)

# The VFIO scenario list, run on the model (test-kmodel) and on a real kernel (the VM tests).
SCENARIO_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/scenarios
noinst_LIBRARIES += tests/scenarios/libscenarios.a
tests_scenarios_libscenarios_a_SOURCES = \
	tests/scenarios/scenarios.c tests/scenarios/scenarios.h \
	tests/scenarios/scenario-stories.c tests/scenarios/scenario-stories.h \
	tests/scenarios/scenario-ops.c tests/scenarios/scenario-cdev.c
tests_scenarios_libscenarios_a_CPPFLAGS = $(SCENARIO_CPPFLAGS)

noinst_PROGRAMS += tests/scenarios/vfio-scenarios
tests_scenarios_vfio_scenarios_SOURCES = tests/scenarios/vfio-scenarios.c
tests_scenarios_vfio_scenarios_CPPFLAGS = $(SCENARIO_CPPFLAGS)
tests_scenarios_vfio_scenarios_LDADD = tests/scenarios/libscenarios.a tests/common/libfixture.a $(MODEL_LIBS)
