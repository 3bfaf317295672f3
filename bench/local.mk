# Benchmark (bench/): `make bench` runs bench/run.sh, which pins itself to one CPU, brings up the
# integration harness (private dbus-daemon + polkitd, the daemon on the kernel model) there and
# runs bench/bench-grant against it; `make bench-profile` runs bench/profile.sh, which profiles
# the daemon through a loop of grants. Both need root; they print figures only, never assert
# timings. Not part of `make check`.
EXTRA_PROGRAMS += bench/bench-grant
bench_bench_grant_SOURCES = \
	bench/bench.h \
	bench/bench-calls.c \
	bench/bench-cpu.c \
	bench/bench-grant.c \
	bench/bench-hold.c \
	bench/bench-loop.c \
	bench/bench-report.c \
	bench/bench-user.c
bench_bench_grant_LDADD = common/libcommon.a $(SYSTEMD_LIBS)
CLEANFILES += bench/bench-grant
EXTRA_DIST += bench/run.sh bench/profile.sh bench/lib.sh bench/profile-report.py

bench: all bench/bench-grant
	$(AM_TESTS_ENVIRONMENT) bash $(srcdir)/bench/run.sh

bench-profile: all bench/bench-grant
	$(AM_TESTS_ENVIRONMENT) bash $(srcdir)/bench/profile.sh

.PHONY: bench bench-profile
