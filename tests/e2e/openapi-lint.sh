#!/bin/sh
# Lint openapi.yaml with the Redocly CLI pinned in package.json (meson suite 'openapi').
# Exit 77 (meson: skipped) only when node_modules is absent; `make test` installs it first.
set -eu
cd "${1:?usage: openapi-lint.sh SOURCE_ROOT}"
if [ ! -e node_modules/@redocly/cli/package.json ]; then
	echo "openapi-lint: node_modules/@redocly/cli is absent (run 'make deps'); skipped"
	exit 77
fi
# No telemetry and no update check: the lint must not talk to the network.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec npx --no-install redocly lint --config redocly.yaml openapi.yaml
