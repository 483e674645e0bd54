#!/usr/bin/env bash
# A fuzz campaign far longer than the short one in `swift test`: the
# release-built driver `runbook-fuzz` (build output in .build-release) feeds
# every input reader (check, interpreter, state file, params, journal)
# mutated inputs from a fresh seed, niced so other work keeps the CPU.
#   scripts/fuzz.sh [SECONDS=300] [SEED=now]     SECONDS shared by the targets
#   scripts/fuzz.sh --inputs N [--seed S] [--targets check,interpreter,...]
# OUT/current-TARGET is the input being run: after a crash or a hang
# (exit status 2) it is the input that caused it; save it under
# Tests/FuzzRegressions/TARGET/ so every later run replays it first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$#" -eq 0 ] || [[ "$1" =~ ^[0-9]+$ ]]; then
  set -- --seconds "${1:-300}" --seed "${2:-$(date +%s)}"
fi
out="$(mktemp -d "${TMPDIR:-/tmp}/runbook-fuzz.XXXXXX")"
nice -n 10 swift build -c release --scratch-path .build-release --product runbook-fuzz
echo "commit $(git rev-parse --short HEAD), release build, inputs in ${out}"
status=0
nice -n 10 .build-release/release/runbook-fuzz --out "$out" "$@" || status=$?
if [ "$status" -ne 0 ]; then
  for f in "$out"/current-*; do
    target="${f##*/current-}"
    [ -e "$out/count-$target" ] || echo "target ${target} did not finish; its last input is ${f}"
  done
fi
exit "$status"
