#!/usr/bin/env bash
# khop vs Splink end to end on a generated Vietnamese population: `khop gen` writes PERSONS
# persons with their national and sector tables; both tools link the social-insurance table to
# the national table without labels; one evaluator (`khop eval`) scores both answers.
# Usage: benches/vn_vs_splink.sh [PERSONS] [WORK_DIR] [SOURCE]   (default 1000000, /tmp/khop-vn-bench, bhxh)
# VENV=/path/to/venv reuses a virtual environment that has splink, duckdb and pyarrow.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
persons="${1:-1000000}"
work="${2:-${TMPDIR:-/tmp}/khop-vn-bench}"
source="${3:-bhxh}"
venv="${VENV:-$work/venv}"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import splink, duckdb, pyarrow, pandas' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet splink duckdb pyarrow pandas
fi

# KHOP_PROFILE=dev skips the fat-LTO release build (quick check; timings then understate khop).
if [ "${KHOP_PROFILE:-release}" = dev ]; then
    cargo build --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/debug/khop"
else
    cargo build --release --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/release/khop"
fi

lscpu | grep -m1 'Model name' || true
nproc
"$venv/bin/python" "$root/benches/vn_vs_splink.py" "$work" "$khop" "$persons" "$source"
