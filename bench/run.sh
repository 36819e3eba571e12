#!/usr/bin/env bash
# Side-by-side benchmark: drover vs supervisord on the same generated configs.
#   bench/run.sh                 everything but the soak (a few minutes)
#   bench/run.sh respawn         one measurement or group (see bench/README.md)
#   bench/run.sh soak            the ~2 minute per daemon soak
#   bench/run.sh reload          a web app reloaded 5 times under load (also in the default)
#   bench/run.sh -targets supervisord respawn    flags go before names
# `make bench` builds bin/drover first; without it drover's cells say n/a.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/droverbench-bin.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/droverbench" ./bench/cmd/droverbench
# The rss row's floor: a minimal Go program, built as drover is (static).
CGO_ENABLED=0 go build -trimpath -o "$tmp/rssfloor" ./bench/cmd/rssfloor
"$tmp/droverbench" "$@"
