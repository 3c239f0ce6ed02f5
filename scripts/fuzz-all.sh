#!/usr/bin/env bash
# Builds every fuzz target (stable Rust: no sanitizer) and runs each for N
# seconds, one after the other, new inputs into fuzz/corpus/<target>.
# Usage: scripts/fuzz-all.sh [SECONDS_PER_TARGET=60] [TARGET…]
# Exits non-zero on the first target that finds a crash (see fuzz/artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(signature_hmac_hex signature_github signature_shopify signature_slack signature_stripe
    signature_standard_webhooks payload_envelope jwt_verify settings_toml)
fi

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-/var/tmp/hookd-fuzz-build}"
cargo fuzz build --sanitizer none --target-dir "$CARGO_TARGET_DIR" --features jwt,settings
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "== $target: ${seconds}s"
  "$bin/$target" "corpus/$target" "seeds/$target" -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/" 2>&1 \
    | grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)|panicked|SUMMARY'
done
