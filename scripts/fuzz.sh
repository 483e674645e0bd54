#!/usr/bin/env bash
# A longer fuzz campaign than the one in `swift test`: every input reader
# (check, interpreter, state file, params, journal) gets SECONDS/5 seconds of
# mutated inputs from a fresh seed. Each target writes the input it is
# running to OUT/current-TARGET before running it, so after a crash that file
# is the input that crashed (copy it into the corpus as a regression test).
#   scripts/fuzz.sh [SECONDS=300] [SEED=now]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
seed="${2:-$(date +%s)}"
out="$(mktemp -d "${TMPDIR:-/tmp}/runbook-fuzz.XXXXXX")"
swift build --build-tests
echo "fuzzing for ${seconds}s with seed ${seed}; inputs in ${out}"
status=0
RUNBOOK_FUZZ_SECONDS="$seconds" RUNBOOK_FUZZ_SEED="$seed" RUNBOOK_FUZZ_OUT="$out" \
  swift test --skip-build --no-parallel --filter 'FuzzTests' || status=$?
total=0
for f in "$out"/count-*; do
  [ -e "$f" ] || continue
  n="$(cat "$f")"
  echo "  ${f##*/count-}: ${n} inputs"
  total=$((total + n))
done
echo "total: ${total} inputs without a crash"
if [ "$status" -ne 0 ]; then
  for f in "$out"/current-*; do
    target="${f##*/current-}"
    [ -e "$out/count-$target" ] || echo "target ${target} did not finish; its last input is ${f}"
  done
  exit "$status"
fi
