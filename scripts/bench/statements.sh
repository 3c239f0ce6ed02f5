#!/usr/bin/env bash
# Where PostgreSQL's time goes while hookd ingests and processes: runs hookd
# (workers on, log handler) on a fresh database under the load generator,
# waits for the queue to drain, then prints pg_stat_statements for that
# database: calls, rows and execution time per statement, per processed event.
#
#   scripts/bench/statements.sh [seconds=10] [connections=64] [workers=4]
#
# Needs pg_stat_statements loaded (shared_preload_libraries =
# 'pg_stat_statements', then a restart) and `pg_stat_statements.track = all`
# to see the statements inside the counter triggers. HOOKD and LOADGEN
# default to the release binaries in $CARGO_TARGET_DIR; HOOKD_ENV adds
# settings (e.g. HOOKD_ENV="HOOKD__PROCESSING__BATCH_SIZE=64"); PRE_SQL runs on
# the migrated, still empty database before the load (to try a schema change).
set -euo pipefail
seconds="${1:-10}" connections="${2:-64}" workers="${3:-4}"
target="${CARGO_TARGET_DIR:-target}"
hookd="${HOOKD:-$target/release/hookd}" loadgen="${LOADGEN:-$target/release/loadgen}"
admin="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
db=hookd_statements
url="${admin%/*}/$db"
psql -qX "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
psql -qX "$admin" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
# shellcheck disable=SC2086
env HOOKD__SERVER__BIND="127.0.0.1:$port" HOOKD__DATABASE__URL="$url?sslmode=disable" \
  HOOKD__PROCESSING__WORKERS="$workers" HOOKD__LOG__FORMAT=json ${HOOKD_ENV:-} \
  "$hookd" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
# PRE_SQL: statements to try on the migrated, still empty database.
[[ -n "${PRE_SQL:-}" ]] && psql -qX "$url" -c "$PRE_SQL"
psql -qXAt "$admin" -c "SELECT pg_stat_statements_reset()" >/dev/null
pg_ticks() { for p in $(pgrep -x postgres); do cat "/proc/$p/stat" 2>/dev/null || true; done | awk '{s+=$14+$15} END {print s+0}'; }
cpu_before=$(pg_ticks)
"$loadgen" --url "http://127.0.0.1:$port/webhook" -c "$connections" -d "${seconds}s" --json | tail -1
for _ in $(seq 1 600); do
  left=$(psql -qXAt "$url" -c "SELECT COUNT(*) FROM events WHERE status IN ('pending','retrying','processing')")
  [[ "$left" == 0 ]] && break
  sleep 0.1
done
cpu_after=$(pg_ticks)
processed=$(psql -qXAt "$url" -c "SELECT COUNT(*) FROM events WHERE status = 'processed'")
echo "processed: $processed; backlog left: $left"
echo "PostgreSQL CPU (processes alive at the end): $(( (cpu_after - cpu_before) * 10 )) ms, $(( (cpu_after - cpu_before) * 10000 / processed )) us per event"
psql -qX "$admin" -v processed="$processed" <<SQL
SELECT calls,
       round(calls::numeric / :processed, 3) AS calls_per_event,
       round(rows::numeric / NULLIF(calls, 0), 1) AS rows_per_call,
       round(total_exec_time::numeric, 0) AS total_ms,
       round((1000 * total_exec_time / :processed)::numeric, 1) AS us_per_event,
       left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = '$db')
ORDER BY total_exec_time DESC
LIMIT 25;
SQL
