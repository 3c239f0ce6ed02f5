#!/usr/bin/env bash
# Instructions per request on the intake path, counted by callgrind (exact
# and repeatable, unlike timings on a shared machine): starts the release
# hookd under valgrind (workers=0), warms it up, zeroes the counters, sends
# N requests with loadgen, dumps, and prints instructions per request and
# the top functions. Usage:
#   scripts/bench/profile.sh [sqlite|postgres] [N] [MIX]
# e.g. `scripts/bench/profile.sh postgres 2000` (accepted webhooks) or
# `scripts/bench/profile.sh postgres 2000 bad=100` (the rejection path).
# The callgrind file is kept (path printed) for callgrind_annotate / kcachegrind.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-postgres}"
requests="${2:-2000}"
mix="${3:-unique=100}"
target="${CARGO_TARGET_DIR:-target}"
hookd="${HOOKD_BIN:-$target/release/hookd}"
loadgen="${LOADGEN_BIN:-$target/release/loadgen}"
pg_url="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
work="$(mktemp -d /tmp/hookd-profile.XXXXXX)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

case "$backend" in
  sqlite) db="sqlite://$work/hookd.db?mode=rwc" ;;
  postgres)
    name="hookd_profile_$$"
    psql "$pg_url" -qc "CREATE DATABASE $name"
    db="${pg_url%/*}/$name?sslmode=disable"
    trap 'psql "$pg_url" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"' EXIT ;;
  *) echo "usage: $0 [sqlite|postgres] [N] [MIX]" >&2; exit 2 ;;
esac

HOOKD__SERVER__BIND="127.0.0.1:$port" HOOKD__DATABASE__URL="$db" \
HOOKD__PROCESSING__WORKERS=0 HOOKD__LOG__FORMAT=json \
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  --dump-instr=no --collect-atstart=yes "$hookd" >"$work/hookd.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
url="http://127.0.0.1:$port/webhook"
# Warm-up: connections, prepared statements, lazily built state.
"$loadgen" --url "$url" -c 8 -n 300 --mix "$mix" --run-id warm >/dev/null
callgrind_control --zero "$pid" >/dev/null
"$loadgen" --url "$url" -c 8 -n "$requests" --mix "$mix" --run-id measured
callgrind_control --dump=measured "$pid" >/dev/null
kill -TERM "$pid"; wait "$pid" || true
dump=$(ls "$work"/callgrind.out.* | head -1)
total=$(grep -E '^(summary|totals):' "$dump" | head -1 | awk '{print $2}')
echo "instructions per request: $((total / requests)) (total $total over $requests requests, $backend, mix $mix)"
callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n '1,60p' | grep -E '^ *[0-9,]+ ' | head -30
echo "callgrind file: $dump"
