#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time (default 20s).
# A target fails when the fuzzer finds an input that fails (it then writes
# it under testdata/fuzz/). Go's fuzzer can also end a run with a bare
# "context deadline exceeded" when -fuzztime runs out while it is still
# minimizing a new interesting input (no failing input is written): that
# is reported, not counted as a failure.
set -uo pipefail
t=${1:-20s}
cd "$(dirname "$0")/.."
status=0
while read -r file; do
  pkg=./$(dirname "$file")
  for f in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "== fuzz $pkg $f ($t)"
    out=$(go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg" 2>&1)
    rc=$?
    echo "$out"
    if [ $rc -ne 0 ]; then
      if grep -q 'Failing input written to' <<<"$out" || ! grep -q 'context deadline exceeded' <<<"$out"; then
        status=1
      else
        echo "fuzz $f: the run ended while the fuzzer was minimizing; no failing input (not a failure)"
      fi
    fi
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' internal cmd 2>/dev/null | sort)
exit $status
