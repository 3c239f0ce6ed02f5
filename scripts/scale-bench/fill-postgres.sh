#!/usr/bin/env bash
# Fills a migrated hookd PostgreSQL database with N finished events (default
# 10,000,000) plus a few thousand pending / retrying / dead ones, in chunks of
# one million rows (one INSERT … SELECT FROM generate_series each), with one
# attempt row per finished event. See README.md.
#
#   scripts/scale-bench/fill-postgres.sh postgres://postgres@127.0.0.1:5432/hookd_scale [N]
set -euo pipefail
url=${1:?database URL}
total=${2:-10000000}
chunk=1000000
here=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)
for ((first = 0; first < total; first += chunk)); do
    last=$((first + chunk < total ? first + chunk : total))
    psql "$url" -v ON_ERROR_STOP=1 -q -v first="$first" -v last="$((last - 1))" -v total="$total" \
        -f "$here/fill-postgres.sql"
    echo "$(date -u +%T) $last / $total events ($(( $(date +%s) - started )) s)"
done
psql "$url" -v ON_ERROR_STOP=1 -q -c "VACUUM ANALYZE events" -c "VACUUM ANALYZE event_attempts"
psql "$url" -At -c "SELECT status, COUNT(*) FROM events GROUP BY status ORDER BY 1" \
    -c "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))"
echo "filled in $(( $(date +%s) - started )) s"
