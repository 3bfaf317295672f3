# tools/: the README's two commands (demo, all tests), their dependencies, and the include
# direction check run by make check.
EXTRA_DIST += tools/deps.sh tools/demo.sh tools/demo-run.sh tools/test-all.sh

# The allowed directions of #include (README "Architecture").
TESTS += tools/check-includes.sh
dist_noinst_SCRIPTS += tools/check-includes.sh
