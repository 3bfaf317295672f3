# polkit/: the actions, and the example rules (installed with the example configuration).
dist_polkitactions_DATA = polkit/org.vfio.tokend.policy

exampledir = $(docdir)/examples
dist_example_DATA = \
	conf/vfio-tokend.conf.example \
	polkit/50-vfio-tokend-libvirt.rules.example \
	polkit/50-vfio-tokend-dpdk.rules.example

