#!/usr/bin/env bash
# Processing cost alone: fills a fresh PostgreSQL database with N events
# (hookd with workers=0 under the load generator), then starts hookd with
# workers on and no load, and measures how fast it drains the queue and what
# that costs hookd and PostgreSQL in CPU per processed event.
#
#   scripts/bench/drain.sh [events=30000] [workers=4]
#
# HOOKD / LOADGEN default to the release binaries in $CARGO_TARGET_DIR;
# HOOKD_ENV adds settings to the draining run; CONFIG names a config file
# for both runs (e.g. a forward handler: its secret must be the load
# generator's, "supersecret").
set -euo pipefail
events="${1:-30000}" workers="${2:-4}"
target="${CARGO_TARGET_DIR:-target}"
hookd="${HOOKD:-$target/release/hookd}" loadgen="${LOADGEN:-$target/release/loadgen}"
admin="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db=hookd_drain
url="${admin%/*}/$db"
psql -qX "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start() { # workers, extra env
  # shellcheck disable=SC2086
  env HOOKD__SERVER__BIND="127.0.0.1:$port" HOOKD__DATABASE__URL="$url?sslmode=disable" \
    HOOKD__PROCESSING__WORKERS="$1" HOOKD__LOG__FORMAT=json $2 "$hookd" ${CONFIG:+serve --config "$CONFIG"} >>/tmp/hookd-drain.log 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
}
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
pg_ticks() {
  psql -qXAt "$admin" -c "SELECT pid FROM pg_stat_activity WHERE datname = '$db' OR backend_type IN ('walwriter','background writer','checkpointer')" \
    | while read -r p; do cat "/proc/$p/stat" 2>/dev/null; done | awk '{s+=$14+$15} END {print s+0}'
}
start 0 ""
"$loadgen" --url "http://127.0.0.1:$port/webhook" -c 64 -n "$events" --json | tail -1 >/dev/null
kill "$pid"; wait "$pid" || true
psql -qXAt "$url" -c "CHECKPOINT" >/dev/null
start "$workers" "${HOOKD_ENV:-}"
trap 'kill $pid 2>/dev/null || true' EXIT
# The workers start at once: measure from here until the queue is empty.
t0=$(date +%s.%N); h0=$(ticks "$pid"); p0=$(pg_ticks)
while :; do
  p1=$(pg_ticks)
  left=$(psql -qXAt "$url" -c "SELECT COUNT(*) FROM events WHERE status <> 'processed'")
  [[ "$left" == 0 ]] && break
  sleep 0.2
done
t1=$(date +%s.%N); h1=$(ticks "$pid")
python3 - "$events" "$t0" "$t1" "$h0" "$h1" "$p0" "$p1" <<'PY'
import sys
n, t0, t1, h0, h1, p0, p1 = map(float, sys.argv[1:])
s = t1 - t0
print(f"drained {int(n)} events in {s:.2f} s: {n/s:,.0f} events/s; "
      f"CPU per event: hookd {10*(h1-h0)/n:.3f} ms, PostgreSQL {10*(p1-p0)/n:.3f} ms")
PY
