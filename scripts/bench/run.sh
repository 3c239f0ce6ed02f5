#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one run: builds the release binaries
# (hookd and loadgen), then runs scripts/bench/bench.py (calibration, then
# hookd on SQLite and PostgreSQL). Usage:
#   scripts/bench/run.sh [--duration 10s] [--only calibration,sqlite,postgres] [--out FILE]
# PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the admin
# connection: each run creates and drops its own database. wrk is used when
# installed (apt-get install wrk), pgbench comes with postgresql.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
target="${CARGO_TARGET_DIR:-target}"
if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release --locked -p bootstrap -p loadgen
fi
uptime
exec python3 scripts/bench/bench.py --hookd "$target/release/hookd" \
  --loadgen "$target/release/loadgen" "$@"
