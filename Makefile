# mm32 - a thin wrapper around meson and ninja. The build itself is meson.build.
#
#   make run           install what running needs (Debian 12, as root), build mm32d alone, start
#                      it on 127.0.0.1:8032 with a default machine
#   make test          install what the tests need too, build everything (gcc) and run every
#                      meson test suite; build everything again with clang -Werror and
#                      AddressSanitizer + UndefinedBehaviorSanitizer and run the suites there
#                      too; check clang-format
#   make format-check  clang-format --dry-run --Werror on every C file
#   make bench         run the benchmarks: one report, build/bench/report.md and report.json
#   make load          a busy class: 64 connections, 60 s, mixed workload (load-asan: ASan build)
#   make crash-test    kill -9 mid-command and mid-snapshot, 50 rounds
#   make fuzz          each libFuzzer harness of fuzz/ for FUZZ_SECONDS (60)
#   make deb           build the Debian package (./mm32d_<version>_<arch>.deb)
#
# Variables: BUILD (build directory), BUILD_CLANG (the clang + sanitizers build), MESON_ARGS (extra `meson
# setup` options, e.g. -Dwerror=true), LISTEN and DB (for `make run`), SUITE (for
# `make test SUITE=e2e`).

BUILD       ?= build
BUILD_CLANG ?= build-clang
MESON_ARGS  ?=
LISTEN      ?= 127.0.0.1:8032
DB          ?= var/mm32.db
SUITE       ?=

# What building and running mm32d needs (Debian 12): the compiler, meson and ninja, and the
# libraries' -dev packages (each also a Build-Depends of packaging/debian/control).
DEBS_RUN := build-essential meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev \
	libsqlite3-dev libsystemd-dev libzstd-dev libxxhash-dev libinih-dev
# What the tests need on top: Check, curl, Debian's Python 3 with the modules the tests import
# (YAML and JSON Schema for the OpenAPI contract, the Prometheus text parser for /metrics),
# clang and clang-format (the second compiler and the format check), procps (/bin/kill of the
# unit's ExecReload, which `systemd-analyze verify` looks for). nodejs/npm are checked by
# command instead (see deps-test): a Node.js from another source has node and npm without
# these names.
DEBS_TEST := check curl ca-certificates python3 python3-yaml python3-jsonschema \
	python3-prometheus-client clang libclang-rt-14-dev clang-format procps
# Tools of the service and packaging tests and of `make deb`, installed without their
# recommendations: systemd (systemd-analyze, systemd-socket-activate; on a host without
# systemd as init it installs the tools and starts nothing), debhelper and dpkg-dev
# (dpkg-buildpackage), man-db (the man page check), git (build-deb.sh copies the tracked
# files), chromium (the browser that the dashboard's test, suite `browser`, drives headless
# through playwright-core). None of them starts a server.
DEBS_TOOLS := systemd debhelper dpkg-dev man-db git chromium

MM32D := $(BUILD)/daemon/mm32d

.PHONY: all deps deps-run deps-test deps-npm build build-daemon build-clang run test bench bench-tools \
	load load-asan crash-test fuzz format format-check clean distclean deb

all: build

deps: deps-run deps-test deps-npm

# $(call install_missing,PACKAGES,APT-OPTIONS,EXTRA-MISSING): a no-op when every package is
# installed; `apt-get update` runs only when something is missing.
define install_missing
	@missing="$$(echo $(3))"; \
	for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -qx 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "deps: these Debian packages are missing; run 'make deps' as root:$$missing" >&2; \
			exit 1; \
		fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(2) $$missing; \
	fi
endef

deps-run:
	$(call install_missing,$(DEBS_RUN),)

deps-test: deps-run
	$(call install_missing,$(DEBS_TEST),,$$(command -v node >/dev/null 2>&1 || echo nodejs) \
		$$(command -v npm >/dev/null 2>&1 || echo npm))
	$(call install_missing,$(DEBS_TOOLS),--no-install-recommends)

# The test tools from npm (package.json, pinned by package-lock.json) in ./node_modules.
# The stamp makes this a no-op until package.json or package-lock.json change.
deps-npm: node_modules/.mm32-installed

node_modules/.mm32-installed: package.json package-lock.json | deps-test
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# The build directory; tests=auto builds the test suites where Check is installed.
$(BUILD)/build.ninja: | deps-run
	rm -rf $(BUILD) && meson setup $(BUILD) $(MESON_ARGS)

# mm32d alone: what `make run` needs, without the tests and benchmarks.
build-daemon: $(BUILD)/build.ninja
	ninja -C $(BUILD) daemon/mm32d

# Everything, the test suites included (Check is required then).
build: deps-test $(BUILD)/build.ninja
	@meson configure $(BUILD) | grep -qE '^ *tests +enabled ' || \
		meson configure $(BUILD) -Dtests=enabled || \
		{ rm -rf $(BUILD) && meson setup $(BUILD) -Dtests=enabled $(MESON_ARGS); }
	ninja -C $(BUILD)

# The second compiler and the sanitizers: the whole tree, tests and benchmarks too, with clang,
# -Werror, AddressSanitizer (LeakSanitizer included) and UndefinedBehaviorSanitizer.
# (b_lundef=false: meson's advice for clang's sanitizer runtimes.)
build-clang: deps-test
	@if [ ! -f $(BUILD_CLANG)/build.ninja ]; then \
		rm -rf $(BUILD_CLANG) && CC=clang meson setup $(BUILD_CLANG) -Dwerror=true \
			-Dtests=enabled -Db_sanitize=address,undefined -Db_lundef=false \
			$(MESON_ARGS); \
	fi
	ninja -C $(BUILD_CLANG)

run: build-daemon
	@mkdir -p $(dir $(DB))
	exec ./$(MM32D) --listen $(LISTEN) --db $(DB)

# MM32_REQUIRE_TOOLS=1: a test whose tool is missing fails instead of skipping. The sanitizer
# build runs every suite but packaging (which builds a .deb of the tree, not of a build): a
# report aborts a Check suite (halt_on_error) and fails an e2e test (the harness reads each
# daemon's log).
# The sanitizer build runs two to three times slower than the release one (more on a busy
# host): its time limits, meson's and Check's own, are three times the release build's.
SANITIZER_ENV := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 CK_TIMEOUT_MULTIPLIER=3
test: deps build build-clang format-check
	MM32_REQUIRE_TOOLS=1 meson test -C $(BUILD) --print-errorlogs $(if $(SUITE),--suite $(SUITE))
	MM32_REQUIRE_TOOLS=1 $(SANITIZER_ENV) meson test -C $(BUILD_CLANG) --print-errorlogs \
		--timeout-multiplier 3 \
		$(if $(SUITE),--suite $(SUITE),--no-suite packaging)

# --verbose: meson hands the benchmarks' stdout to the terminal only when asked to; without
# it `make bench` would print OK lines and no figures. Benchmarks run one at a time, and
# bench/report.py makes one table of the figures they printed (BENCH-ROW lines), each beside
# its reference: $(BUILD)/bench/report.md and report.json. The references nginx and wrk are
# installed here (as root, when missing), not by `make deps`.
bench: build bench-tools
	mkdir -p $(BUILD)/bench
	{ meson test -C $(BUILD) --benchmark --verbose --num-processes 1; echo "make-bench-exit $$?"; } \
		2>&1 | tee $(BUILD)/bench/bench.log
	/usr/bin/python3 bench/report.py $(BUILD)/bench/bench.log $(BUILD)/bench/report
	grep -q '^make-bench-exit 0$$' $(BUILD)/bench/bench.log

bench-tools:
	@if ! command -v nginx >/dev/null 2>&1 || ! command -v wrk >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y \
				--no-install-recommends nginx-light wrk; \
		else \
			echo "make bench: nginx or wrk is missing (as root it installs them): the rows" \
				"beside nginx are left out"; \
		fi; \
	fi

# A busy class against the real mm32d (bench/load.c): 64 connections for 60 s, a mixed
# workload over 8 machines; requests/s, latency percentiles, answers by status. Fails on any
# 5xx or failed connection. LOAD_ARGS changes it (e.g. LOAD_ARGS='--seconds 10 -- --sync
# normal'); load-asan runs it against the sanitizer build.
LOAD_ARGS ?= --seconds 60 --connections 64 --machines 8
load: build
	./$(BUILD)/bench/load ./$(BUILD)/daemon/mm32d $(LOAD_ARGS)
load-asan: build-clang
	$(SANITIZER_ENV) ./$(BUILD_CLANG)/bench/load ./$(BUILD_CLANG)/daemon/mm32d $(LOAD_ARGS)

# libFuzzer, each harness of fuzz/ for FUZZ_SECONDS (in the sanitizer build; an input that runs
# over 60 s is a hang, reported as a crash is): the corpus grows
# in $(BUILD_CLANG)/fuzz-work/<name> (seeded from fuzz/corpus/<name>), a crash lands in
# $(BUILD_CLANG)/fuzz-artifacts/ and stops the run (copy it into fuzz/corpus/<name> once fixed:
# `make test` replays it from then on). FUZZERS picks some (e.g. FUZZERS=commands).
FUZZ_SECONDS ?= 60
FUZZERS ?= commands spec scan snapshot session http
fuzz: build-clang
	@mkdir -p $(BUILD_CLANG)/fuzz-artifacts
	@for f in $(FUZZERS); do \
		mkdir -p $(BUILD_CLANG)/fuzz-work/$$f && \
		echo "fuzz-$$f: $(FUZZ_SECONDS) s" && \
		$(SANITIZER_ENV) ./$(BUILD_CLANG)/fuzz/fuzz-$$f -max_total_time=$(FUZZ_SECONDS) \
			-max_len=$$([ $$f = snapshot ] && echo 131072 || echo 4096) -rss_limit_mb=4096 \
			-print_final_stats=1 -timeout=60 \
			-artifact_prefix=$(BUILD_CLANG)/fuzz-artifacts/$$f- \
			$(BUILD_CLANG)/fuzz-work/$$f fuzz/corpus/$$f 2>&1 | \
			grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)' \
			|| true; \
	done

# kill -9 while commands stream in and while snapshots are written, CRASH_ROUNDS times (every
# acknowledged command must survive, every replay verify); `make test` runs 5 rounds.
CRASH_ROUNDS ?= 50
crash-test: build
	CRASH_ROUNDS=$(CRASH_ROUNDS) E2E_TIMEOUT=3600 MM32D=./$(BUILD)/daemon/mm32d \
		/usr/bin/python3 tests/e2e/test_persistence.py CrashTest

# The Debian package of the working tree: ./mm32d_<version>_<arch>.deb (packaging/debian,
# built by packaging/build-deb.sh in a temporary directory; install it with
# `apt-get install ./mm32d_*.deb`).
deb: deps-test
	sh packaging/build-deb.sh . .

# The C files of the tree: git's list in a clone, else every .c and .h outside build trees.
C_FILES = { git ls-files -z -- '*.c' '*.h' 2>/dev/null || \
	find . \( -name 'build*' -o -name node_modules -o -name .git \) -prune -o \
		\( -name '*.c' -o -name '*.h' \) -print0; }

# clang-format (.clang-format) on every C file of the tree.
format:
	@command -v clang-format >/dev/null || { echo "format: apt-get install clang-format" >&2; exit 1; }
	$(C_FILES) | xargs -0 -r clang-format -i

format-check: deps-test
	$(C_FILES) | xargs -0 -r clang-format --dry-run --Werror

clean:
	rm -rf $(BUILD) $(BUILD_CLANG)

distclean: clean
	rm -rf node_modules var mm32d_*.deb mm32d-dbgsym_*.deb
