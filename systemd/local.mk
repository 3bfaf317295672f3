# systemd/: the unit, sysusers.d and tmpfiles.d entries (the unit's sandbox is checked by
# tests/dist/test-unit-security.sh).

# The unit names the daemon's installed path, so it is generated from a template.
nodist_systemdsystemunit_DATA = systemd/vfio-tokend.service
systemd/vfio-tokend.service: $(srcdir)/systemd/vfio-tokend.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed \
		-e 's|[@]sbindir[@]|$(sbindir)|g' \
		$(srcdir)/systemd/vfio-tokend.service.in > $@.tmp && mv -f $@.tmp $@
CLEANFILES += systemd/vfio-tokend.service
EXTRA_DIST += systemd/vfio-tokend.service.in

# The root half for one device that appeared, started by udev (udev/90-vfio-tokend.rules).
nodist_systemdsystemunit_DATA += systemd/vfio-tokend-setup@.service
systemd/vfio-tokend-setup@.service: $(srcdir)/systemd/vfio-tokend-setup@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && sed \
		-e 's|[@]sbindir[@]|$(sbindir)|g' \
		-e 's|[@]bindir[@]|$(bindir)|g' \
		$(srcdir)/systemd/vfio-tokend-setup@.service.in > $@.tmp && mv -f $@.tmp $@
CLEANFILES += systemd/vfio-tokend-setup@.service
EXTRA_DIST += systemd/vfio-tokend-setup@.service.in

# udev starts the setup of a PF that appears or is bound to vfio-pci.
udevrules_DATA = udev/90-vfio-tokend.rules
udev/90-vfio-tokend.rules: $(srcdir)/udev/90-vfio-tokend.rules.in Makefile
	$(AM_V_GEN)$(MKDIR_P) udev && sed \
		-e 's|[@]bindir_systemctl[@]|$(SYSTEMCTL)|g' \
		$(srcdir)/udev/90-vfio-tokend.rules.in > $@.tmp && mv -f $@.tmp $@
CLEANFILES += udev/90-vfio-tokend.rules
EXTRA_DIST += udev/90-vfio-tokend.rules.in

# sysusers.d and tmpfiles.d want the file named after the package (vfio-tokend.conf); automake
# installs files under their own base name, so each gets a copy under that name.
nodist_sysusers_DATA = systemd/sysusers.d/vfio-tokend.conf
systemd/sysusers.d/vfio-tokend.conf: $(srcdir)/systemd/vfio-tokend.sysusers
	$(AM_V_GEN)$(MKDIR_P) systemd/sysusers.d && cp $(srcdir)/systemd/vfio-tokend.sysusers $@
nodist_tmpfiles_DATA = systemd/tmpfiles.d/vfio-tokend.conf
systemd/tmpfiles.d/vfio-tokend.conf: $(srcdir)/systemd/vfio-tokend.tmpfiles
	$(AM_V_GEN)$(MKDIR_P) systemd/tmpfiles.d && cp $(srcdir)/systemd/vfio-tokend.tmpfiles $@
CLEANFILES += systemd/sysusers.d/vfio-tokend.conf systemd/tmpfiles.d/vfio-tokend.conf
EXTRA_DIST += systemd/vfio-tokend.sysusers systemd/vfio-tokend.tmpfiles

# pkg-config may name directories outside the prefix (Debian's systemdsystemunitdir is
# /lib/systemd/system): distcheck installs every integration file under its own prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${prefix}/lib/systemd/system' \
	--with-sysusersdir='$${prefix}/lib/sysusers.d' \
	--with-tmpfilesdir='$${prefix}/lib/tmpfiles.d' \
	--with-dbussystemdir='$${datadir}/dbus-1/system.d' \
	--with-dbussystemservicedir='$${datadir}/dbus-1/system-services' \
	--with-dbusinterfacesdir='$${datadir}/dbus-1/interfaces' \
	--with-polkitactionsdir='$${datadir}/polkit-1/actions' \
	--with-udevrulesdir='$${prefix}/lib/udev/rules.d'
