# mm32 - a thin wrapper around meson and ninja. The build itself is meson.build.
#
#   make run    install what is missing (Debian 12, as root), build, start mm32d on 127.0.0.1:8032
#   make test   install what is missing, build, run every meson test suite
#   make deb    build the Debian package (./mm32d_<version>_<arch>.deb)
#
# Variables: BUILD (build directory), MESON_ARGS (extra `meson setup` options, e.g.
# -Dwerror=true), LISTEN and DB (for `make run`), SUITE (for `make test SUITE=e2e`).

BUILD      ?= build
MESON_ARGS ?=
LISTEN     ?= 127.0.0.1:8032
DB         ?= var/mm32.db
SUITE      ?=

# Debian 12 packages the build and the tests need. nodejs/npm are checked by command instead
# (see deps-debian): a Node.js from another source provides node and npm without these names.
DEBS := build-essential meson ninja-build pkg-config libmicrohttpd-dev libjansson-dev \
	libsqlite3-dev check libsystemd-dev libzstd-dev libxxhash-dev libinih-dev curl python3 \
	ca-certificates
# Tools of the service and packaging tests and of `make deb`: systemd (systemd-analyze,
# systemd-socket-activate), prometheus (promtool), debhelper and dpkg-dev (dpkg-buildpackage),
# man-db (the man page check), git (build-deb.sh copies the tracked files). Installed without
# their recommendations: prometheus would bring node-exporter, systemd a whole init system.
DEBS_TOOLS := systemd prometheus debhelper dpkg-dev man-db git

MM32D := $(BUILD)/daemon/mm32d

.PHONY: all deps deps-debian deps-npm build run test bench format clean distclean deb

all: build

deps: deps-debian deps-npm

# A no-op when everything is installed; `apt-get update` runs only when something is missing.
deps-debian:
	@missing=; \
	for p in $(DEBS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -qx 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	tools=; \
	for p in $(DEBS_TOOLS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -qx 'install ok installed' \
			|| tools="$$tools $$p"; \
	done; \
	if [ -n "$$missing$$tools" ]; then \
		echo "deps: installing:$$missing$$tools"; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "deps: these Debian packages are missing; run 'make deps' as root:$$missing$$tools" >&2; \
			exit 1; \
		fi; \
		apt-get update && \
		{ [ -z "$$missing" ] || DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; } && \
		{ [ -z "$$tools" ] || DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends $$tools; }; \
	fi

# The test tools from npm (package.json, pinned by package-lock.json) in ./node_modules.
# The stamp makes this a no-op until package.json or package-lock.json change.
deps-npm: node_modules/.mm32-installed

node_modules/.mm32-installed: package.json package-lock.json | deps-debian
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

build: | deps-debian
	@if [ ! -f $(BUILD)/build.ninja ]; then \
		rm -rf $(BUILD) && meson setup $(BUILD) $(MESON_ARGS); \
	fi
	ninja -C $(BUILD)

run: deps build
	@mkdir -p $(dir $(DB))
	exec ./$(MM32D) --listen $(LISTEN) --db $(DB)

test: deps build
	meson test -C $(BUILD) --print-errorlogs $(if $(SUITE),--suite $(SUITE))

# --verbose: meson hands the benchmarks' stdout to the terminal only when asked to; without
# it `make bench` would print OK lines and no figures. Benchmarks run one at a time.
bench: build
	meson test -C $(BUILD) --benchmark --verbose --num-processes 1

# The Debian package of the working tree: ./mm32d_<version>_<arch>.deb (packaging/debian,
# built by packaging/build-deb.sh in a temporary directory; install it with
# `apt-get install ./mm32d_*.deb`).
deb: deps-debian
	sh packaging/build-deb.sh . .

# clang-format (.clang-format) on every C file of the tree.
format:
	@command -v clang-format >/dev/null || { echo "format: apt-get install clang-format" >&2; exit 1; }
	git ls-files -z -- '*.c' '*.h' | xargs -0 -r clang-format -i

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf node_modules var mm32d_*.deb mm32d-dbgsym_*.deb
