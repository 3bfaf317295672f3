# man/: the manual pages.
dist_man_MANS = \
	man/vfio-tokend.8 \
	man/vfio-tokenctl.1 \
	man/vfio-tokend.conf.5 \
	man/org.vfio.Tokend1.5

