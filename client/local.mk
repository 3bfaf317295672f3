# client/: libvfio-token (installed static library, header and pkg-config file) and the
# vfio-tokenctl CLI. Their tests: tests/unit/, tests/cli/, tests/dist/ (the pkg-config file).
lib_LIBRARIES += client/libvfio-token.a
client_libvfio_token_a_SOURCES = client/libvfio-token.c client/vfio-token.h
include_HEADERS += client/vfio-token.h common/vfio-token-names.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = client/vfio-token.pc
client/vfio-token.pc: $(srcdir)/client/vfio-token.pc.in Makefile
	$(AM_V_GEN)$(MKDIR_P) client && sed \
		-e 's|[@]prefix[@]|$(prefix)|g' \
		-e 's|[@]exec_prefix[@]|$(exec_prefix)|g' \
		-e 's|[@]libdir[@]|$(libdir)|g' \
		-e 's|[@]includedir[@]|$(includedir)|g' \
		-e 's|[@]PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
		$(srcdir)/client/vfio-token.pc.in > $@.tmp && mv -f $@.tmp $@
CLEANFILES += client/vfio-token.pc
EXTRA_DIST += client/vfio-token.pc.in

bin_PROGRAMS += client/vfio-tokenctl
client_vfio_tokenctl_SOURCES = \
	client/vfio-tokenctl.c client/tokenctl.h \
	client/tokenctl-error.c \
	client/tokenctl-show.c \
	client/tokenctl-manage.c \
	client/bus-props.c client/bus-props.h \
	client/table.c client/table.h \
	client/tokenctl-acquire.c \
	client/json-out.c client/json-out.h \
	client/polkit-agent.c client/polkit-agent.h
client_vfio_tokenctl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
client_vfio_tokenctl_LDADD = client/libvfio-token.a common/libcommon.a $(SYSTEMD_LIBS)

# Shell completion, where bash-completion (pkg-config's completionsdir) and zsh look.
dist_bashcompletion_DATA = client/completion/vfio-tokenctl
dist_zshcompletion_DATA = client/completion/_vfio-tokenctl

# vfio-tokenctl qemu (tokenctl-qemu.c, with QEMU's command line in qemu-args.c), and the emulator
# libvirt can be given as <emulator>, which runs it for the system's QEMU.
client_vfio_tokenctl_SOURCES += client/tokenctl-qemu.c client/qemu-args.c client/qemu-args.h
pkglibexec_PROGRAMS = client/qemu-system-x86_64
client_qemu_system_x86_64_SOURCES = client/qemu-wrapper.c
client_qemu_system_x86_64_CPPFLAGS = $(AM_CPPFLAGS) -DBINDIR=\"$(bindir)\"
