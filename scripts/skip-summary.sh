#!/usr/bin/env bash
# Prints the tests of the last run that skipped because a peer was missing
# or the run was not root, from the skip log internal/testenv appends to
# ($DROVER_SKIP_LOG, one line per skip); prints nothing when there are none.
# Under CI=true those tests fail instead of skipping.
set -uo pipefail
log=$1
[ -s "$log" ] || exit 0
summary() { # marker, what it means
  local lines n
  lines=$(grep -F ": $1: " "$log" | sort)
  [ -n "$lines" ] || return 0
  n=$(wc -l <<<"$lines")
  echo "== $n $( [ "$n" -eq 1 ] && echo test || echo tests) skipped because $2 (CI=true fails them):"
  sed 's/^/  /' <<<"$lines"
}
summary "PEER MISSING" "a peer is missing"
summary "NOT ROOT" "the run is not root"
