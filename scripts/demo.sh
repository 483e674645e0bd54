#!/usr/bin/env bash
# Dry run of the BYOL setup runbook against the embedded demo tenant.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build --product runbook >&2
exec .build/debug/runbook run --dry-run runbooks/byol-setup.runbook --params runbooks/demo.params.json "$@"
