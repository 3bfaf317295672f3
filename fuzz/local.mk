# Fuzzing (fuzz/): libFuzzer targets for the config parser, the PCI address grammar, the
# AcquireToken arguments (daemon/bus-args.c) and the state file format, with seed corpora in
# fuzz/corpus/<target>/. `make check-fuzz` builds them with clang (CLANG=...) into fuzz/build/
# and fuzz/run-fuzz.sh runs each for a short bounded time on a copy of its corpus (the repo's
# corpus is never written to); any crash, leak or sanitizer report fails it and keeps the input
# in fuzz/build/. Not part of `make check`: it needs clang with libFuzzer (make check only
# replays the seeds, below).
CLANG = clang
FUZZ_TIME = 15
FUZZ_RUNS = 2000000
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-Wall -Wextra -Wno-unused-parameter -Werror \
	-I$(top_srcdir)/common -I$(top_srcdir)/daemon -include $(top_builddir)/build-config.h
fuzz_targets = config pci-address bus-options state-format
fuzz_programs = $(fuzz_targets:%=fuzz/build/fuzz-%)
fuzz_config_sources = fuzz/fuzz-config.c daemon/config.c daemon/parse-util.c daemon/vfio.c common/pci-address.c
fuzz_pci_address_sources = fuzz/fuzz-pci-address.c common/pci-address.c
fuzz_bus_options_sources = fuzz/fuzz-bus-options.c daemon/bus-args.c common/pci-address.c
fuzz_state_format_sources = fuzz/fuzz-state-format.c daemon/state-format.c daemon/token.c common/pci-address.c
fuzz_config_libs = $(UUID_LIBS)
fuzz_state_format_libs = $(UUID_LIBS)

# Each target is rebuilt when any header changes: they are few and cheap to build.
FUZZ_DEPS = $(wildcard $(srcdir)/common/*.h $(srcdir)/daemon/*.h)
fuzz/build/fuzz-%: $(FUZZ_DEPS)
	@$(MKDIR_P) fuzz/build
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) `$(PKG_CONFIG) --cflags libsystemd` \
		$(fuzz_$(subst -,_,$*)_sources:%=$(srcdir)/%) `$(PKG_CONFIG) --libs libsystemd` \
		$(fuzz_$(subst -,_,$*)_libs) -o $@

# The same targets as plain programs (fuzz/replay-TARGET: the sources above with
# fuzz/replay-main.c), built by `make check` with the project's compiler, warnings and
# sanitizers; fuzz/replay-corpus.sh replays each seed corpus once. A source missing from a list
# above fails `make check`, not only check-fuzz.
fuzz_replays = fuzz/replay-config fuzz/replay-pci-address fuzz/replay-bus-options fuzz/replay-state-format
check_PROGRAMS += $(fuzz_replays)
TESTS += fuzz/replay-corpus.sh
dist_noinst_SCRIPTS += fuzz/replay-corpus.sh
fuzz_replay_config_SOURCES = fuzz/replay-main.c $(fuzz_config_sources)
fuzz_replay_config_LDADD = $(fuzz_config_libs) $(SYSTEMD_LIBS)
fuzz_replay_pci_address_SOURCES = fuzz/replay-main.c $(fuzz_pci_address_sources)
fuzz_replay_pci_address_LDADD = $(fuzz_pci_address_libs) $(SYSTEMD_LIBS)
fuzz_replay_bus_options_SOURCES = fuzz/replay-main.c $(fuzz_bus_options_sources)
fuzz_replay_bus_options_LDADD = $(fuzz_bus_options_libs) $(SYSTEMD_LIBS)
fuzz_replay_state_format_SOURCES = fuzz/replay-main.c $(fuzz_state_format_sources)
fuzz_replay_state_format_LDADD = $(fuzz_state_format_libs) $(SYSTEMD_LIBS)

check-fuzz: $(fuzz_programs)
	@FUZZ_TIME=$(FUZZ_TIME) FUZZ_RUNS=$(FUZZ_RUNS) bash $(srcdir)/fuzz/run-fuzz.sh $(srcdir)/fuzz/corpus \
		$(fuzz_targets)
.PHONY: check-fuzz
CLEANFILES += $(fuzz_programs)
EXTRA_DIST += \
	fuzz/run-fuzz.sh \
	fuzz/corpus
