#!/bin/sh
# Lint openapi.yaml with the Redocly CLI pinned in package.json (meson suite 'openapi').
# `make test` installs node_modules first; when it is absent this fails under `make test`
# (MM32_REQUIRE_TOOLS=1) and in CI (CI=true), and skips (exit 77) only when run by hand.
set -eu
cd "${1:?usage: openapi-lint.sh SOURCE_ROOT}"
if [ ! -e node_modules/@redocly/cli/package.json ]; then
	if [ "${MM32_REQUIRE_TOOLS:-}" = 1 ] || [ "${CI:-}" = true ]; then
		echo "openapi-lint: node_modules/@redocly/cli is absent (run 'make deps')" >&2
		exit 1
	fi
	echo "openapi-lint: node_modules/@redocly/cli is absent (run 'make deps'); skipped"
	exit 77
fi
# No telemetry and no update check: the lint must not talk to the network.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec npx --no-install redocly lint --config redocly.yaml openapi.yaml
