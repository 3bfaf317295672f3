# VM tests (tests/vm/): the real kernel's vfio-pci in a QEMU guest (TCG) with an emulated
# SR-IOV PF, on Debian's 6.1 and 6.12 kernels. Not part of `make check`. Needs
# qemu-system-x86, busybox-static and the guest kernels (tests/vm/fetch-kernels.sh, run as
# root, gets them); outside CI it skips without them, under CI=true it fails.
vm_files = \
	tests/vm/fetch-kernels.sh \
	tests/vm/run-vm.sh \
	tests/vm/check-vm.sh \
	tests/vm/initramfs-init \
	tests/vm/guest-init \
	tests/vm/guest-lib.sh \
	tests/vm/job-lib.sh \
	tests/vm/guest-init-systemd \
	tests/vm/job-vf-token.sh \
	tests/vm/job-daemon.sh \
	tests/vm/job-systemd.sh \
	tests/vm/job-qemu.sh \
	tests/vm/vf-open.c \
	tests/vm/build-kernel-7.3.sh \
	tests/vm/kernel-7.3-iommufd.config \
	tests/vm/job-vfio-cdev.sh
EXTRA_DIST += $(vm_files)

# The daemon's own kernel boundary (daemon/vfio.c) on the guest's kernel, either VFIO API
# (job-vfio-cdev.sh).
noinst_PROGRAMS += tests/vm/vfio-pf
tests_vm_vfio_pf_SOURCES = tests/vm/vfio-pf.c
tests_vm_vfio_pf_LDADD = $(DAEMON_LIBS)

check-vm: all
	@rc=0; $(AM_TESTS_ENVIRONMENT) bash $(srcdir)/tests/vm/check-vm.sh || rc=$$?; \
	if test $$rc = 77; then echo "check-vm: SKIPPED"; rc=0; fi; exit $$rc
.PHONY: check-vm
