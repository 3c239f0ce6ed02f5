#!/usr/bin/env bash
# The chaos suite's entry point: scripts/chaos/run.sh [--short] [options] [scenario…]
# Needs the release binary (built here unless HOOKD_BIN is set), python3 (stdlib only),
# psql and, for the PostgreSQL scenarios, a server at CHAOS_PG_URL.
# See RELIABILITY.md for the scenarios, their invariants and measured results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
if [[ -z "${HOOKD_BIN:-}" ]]; then
  export HOOKD_BIN="$CARGO_TARGET_DIR/release/hookd"
  # A no-op when the binary is up to date; never test a stale one.
  (cd "$repo" && cargo build --release --locked -p bootstrap)
fi
export PYTHONDONTWRITEBYTECODE=1
exec python3 "$here/chaos.py" "$@"
