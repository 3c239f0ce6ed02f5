#!/usr/bin/env bash
# Retention keeps the table flat: RATE webhooks/s (default 2000) for MINUTES
# (default 10) with 4 workers and retention.processed = "1m", printing the
# events table's rows and the database's size every minute (see README.md).
#
#   scripts/scale-bench/retention-flat.sh postgres|sqlite [RATE] [MINUTES]
set -euo pipefail
backend=${1:?postgres or sqlite}
rate=${2:-2000}
minutes=${3:-10}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
bench() { cargo bench -q -p hookd-tests --bench scale -- "$@"; }
case $backend in
postgres)
    base=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
    psql "$base/postgres" -q -c "DROP DATABASE IF EXISTS hookd_scale_flat" \
        -c "CREATE DATABASE hookd_scale_flat"
    url="$base/hookd_scale_flat?sslmode=disable"
    ;;
sqlite)
    dir=${SCALE_DIR:-/var/tmp/hookd-scale-flat}
    rm -rf "$dir" && mkdir -p "$dir"
    url="sqlite://$dir/flat.db?mode=rwc"
    ;;
*) echo "backend: postgres or sqlite" >&2; exit 2 ;;
esac
echo "== $(date -u '+%F %T') $backend, $rate webhooks/s for $minutes minutes, processed = 1m"
bench --url "$url" --migrate
bench --url "$url" --steady "$rate" --minutes "$minutes"
