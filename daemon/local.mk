# daemon/: the core in libtokend.a (everything but main()), and the vfio-tokend program.
# vfio.c's VFIO sequence runs on the kernel unless the kernel model (tests/model/vfio-model.c)
# replaces its system calls (daemon/vfio-syscalls.h).
noinst_LIBRARIES += libtokend.a
libtokend_a_SOURCES = \
	daemon/log.c daemon/log.h \
	daemon/token.c daemon/token.h \
	daemon/config.c daemon/config.h daemon/config-internal.h daemon/config-files.c \
	daemon/parse-util.c daemon/parse-util.h \
	daemon/sysfs.c daemon/sysfs.h \
	daemon/udev-monitor.c daemon/udev-monitor.h \
	daemon/state-format.c daemon/state-format.h \
	daemon/state-file.c daemon/state-file.h \
	daemon/state.c daemon/state.h \
	daemon/fdstore.c daemon/fdstore.h \
	daemon/pf.c daemon/pf.h daemon/pf-internal.h \
	daemon/manager.c daemon/manager.h \
	daemon/setup.c daemon/setup.h \
	daemon/uid-count.c daemon/uid-count.h \
	daemon/lease.c daemon/lease.h \
	daemon/lease-file.c daemon/lease-file.h \
	daemon/bus-emit.c daemon/bus-emit.h \
	daemon/polkit.c daemon/polkit.h \
	daemon/bus-args.c daemon/bus-args.h \
	daemon/bus-face.h \
	daemon/bus-manager.c daemon/bus-manager.h \
	daemon/bus-peer.c daemon/bus-peer.h \
	daemon/bus-request.c daemon/bus-request.h \
	daemon/bus-caller.c daemon/bus-caller.h \
	daemon/bus-pf.c daemon/bus-pf.h \
	daemon/bus-lease.c daemon/bus-lease.h \
	daemon/vfio.c daemon/vfio.h daemon/vfio-syscalls.h daemon/vfio-uapi.h daemon/vfio-names.c

DAEMON_LIBS = libtokend.a common/libcommon.a $(SYSTEMD_LIBS) $(UUID_LIBS) $(CAPNG_LIBS)

sbin_PROGRAMS += vfio-tokend
vfio_tokend_SOURCES = daemon/main.c
vfio_tokend_LDADD = $(DAEMON_LIBS)

# The real daemon with crash points in its rotation (daemon/pf.c, VFIO_TOKEND_CRASH_POINTS), for
# the VM tests that kill it between the steps of a rotation. Never installed.
noinst_PROGRAMS += tests/vfio-tokend-crashpoints
tests_vfio_tokend_crashpoints_SOURCES = daemon/main.c daemon/pf.c
tests_vfio_tokend_crashpoints_CPPFLAGS = $(AM_CPPFLAGS) -DVFIO_TOKEND_CRASH_POINTS
tests_vfio_tokend_crashpoints_LDADD = $(DAEMON_LIBS)
