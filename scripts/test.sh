#!/usr/bin/env bash
# Builds runbook and runs every test: the language corpus, unit tests,
# end-to-end tests of the binary and the REPL under a pseudo-terminal, and
# the emulator driven by the official Azure SDKs (scripts/sdk-conformance.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
swift build --build-tests
swift test --skip-build "$@"
./scripts/sdk-conformance.sh
