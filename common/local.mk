# common/: the base helpers (fd, io, strings, string arrays, time) and the D-Bus names, used by
# the daemon, the client library, vfio-tokenctl and the benchmark alike; and the PCI address
# grammar, which the daemon and the client both speak.
noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/macro.h \
	common/fd-util.h \
	common/io-util.c common/io-util.h \
	common/pci-address.c common/pci-address.h \
	common/string-util.h \
	common/strv.h \
	common/time-util.h \
	common/vfio-token-names.h
