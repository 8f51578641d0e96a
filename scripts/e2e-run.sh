#!/usr/bin/env bash
# Runs the suite against the configured cluster and writes the report: `make e2e-run`
# calls it. The work is scripts/cmd/e2e's (through scripts/internal/launch, the launcher
# the suite image and the self-test use too); exec hands it the signals.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p _bin
go build -o _bin/e2e ./scripts/cmd/e2e
exec _bin/e2e "$@"
