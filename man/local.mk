# man/: the manual pages (checked against the code by tests/dist/test-man.sh).
dist_man_MANS = \
	man/vfio-tokend.8 \
	man/vfio-tokenctl.1 \
	man/vfio-tokend.conf.5 \
	man/org.vfio.Tokend1.5

# The contract and the architecture (docs/), installed by the Debian package.
EXTRA_DIST += docs/contract.md docs/architecture.md
