#!/usr/bin/env bash
# Drives `runbook emulator --tls` with the official Azure SDKs for Python
# (Tests/SDKConformance): creates a virtual environment under .build-sdk/
# once per requirements file, installs the pinned SDKs from PyPI, and runs
# the pytest suite against the built binary (RUNBOOK_BIN, default
# .build/debug/runbook). Fails when pytest fails or runs no test.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
requirements=Tests/SDKConformance/requirements.txt
venv=.build-sdk/venv
stamp=$venv/.requirements.sha256
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
  echo "$want" > "$stamp"
fi
export RUNBOOK_BIN=${RUNBOOK_BIN:-$root/.build/debug/runbook}
[ -x "$RUNBOOK_BIN" ] || { echo "sdk-conformance: no runbook binary at $RUNBOOK_BIN (swift build first)" >&2; exit 1; }
set +e
"$venv/bin/python" -m pytest -p no:cacheprovider -q Tests/SDKConformance "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "sdk-conformance: pytest collected no test" >&2
  exit 1
fi
exit "$status"
