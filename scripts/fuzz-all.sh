#!/usr/bin/env bash
# Runs every Go fuzz target in the module for the given time (default 20s).
set -euo pipefail
t=${1:-20s}
cd "$(dirname "$0")/.."
status=0
while read -r file; do
  pkg=./$(dirname "$file")
  for f in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    echo "== fuzz $pkg $f ($t)"
    go test -run='^$' -fuzz="^${f}\$" -fuzztime="$t" "$pkg" || status=1
  done
done < <(grep -rl --include='*_test.go' '^func Fuzz' internal cmd 2>/dev/null | sort)
exit $status
