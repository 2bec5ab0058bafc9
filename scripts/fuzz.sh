#!/usr/bin/env bash
# Runs every fuzz target (crates/fuzz) for SECONDS each (default 60) and prints a table:
# executions, executions per second, corpus size and crashes per target. Crashing inputs
# are saved under fuzz/crashes/<target>/; the script exits 1 if there are any.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p weighbridge-fuzz
target_dir="${CARGO_TARGET_DIR:-target}"
exec "${target_dir}/release/weighbridge-fuzz" "${1:-60}" "${@:2}"
