# Benchmark (bench/): `make bench` runs bench/run.sh, which brings up the integration harness
# (private dbus-daemon + polkitd, the daemon on the kernel model) and runs bench/bench-grant
# there. Needs root; prints figures only, never asserts timings. Not part of `make check`.
EXTRA_PROGRAMS += bench/bench-grant
bench_bench_grant_SOURCES = bench/bench-grant.c
bench_bench_grant_LDADD = common/libcommon.a $(SYSTEMD_LIBS)
CLEANFILES += bench/bench-grant
EXTRA_DIST += bench/run.sh

bench: all bench/bench-grant
	$(AM_TESTS_ENVIRONMENT) bash $(srcdir)/bench/run.sh
.PHONY: bench
