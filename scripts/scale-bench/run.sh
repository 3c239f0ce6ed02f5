#!/usr/bin/env bash
# The 10-million-event benchmark on one backend: the same figures on an empty
# database and on a filled one (see README.md).
#
#   scripts/scale-bench/run.sh postgres [N]    # PG_BASE=postgres://postgres@127.0.0.1:5432
#   scripts/scale-bench/run.sh sqlite [N]      # SCALE_DIR=/var/tmp/hookd-scale
set -euo pipefail
backend=${1:?postgres or sqlite}
total=${2:-10000000}
events=${EVENTS:-20000}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
bench() { cargo bench -q -p hookd-tests --bench scale -- "$@"; }

case $backend in
postgres)
    base=${PG_BASE:-postgres://postgres@127.0.0.1:5432}
    for name in hookd_scale_empty hookd_scale_big; do
        psql "$base/postgres" -q -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
    done
    empty="$base/hookd_scale_empty?sslmode=disable"
    big="$base/hookd_scale_big?sslmode=disable"
    fill() { "$here/fill-postgres.sh" "$base/hookd_scale_big" "$total"; }
    ;;
sqlite)
    dir=${SCALE_DIR:-/var/tmp/hookd-scale}
    rm -rf "$dir" && mkdir -p "$dir"
    empty="sqlite://$dir/empty.db?mode=rwc"
    big="sqlite://$dir/big.db?mode=rwc"
    fill() { python3 "$here/fill-sqlite.py" "$dir/big.db" "$total"; }
    ;;
*) echo "backend: postgres or sqlite" >&2; exit 2 ;;
esac

echo "== $(date -u '+%F %T') $backend, $(nproc) cores, $events events per run"
bench --url "$empty" --migrate
bench --url "$empty" --label "$backend empty" --events "$events"
bench --url "$big" --migrate
fill
bench --url "$big" --label "$backend $total" --events "$events"
echo "== $(date -u '+%F %T') done"
