#!/usr/bin/env bash
# khop vs Splink deduplication: FEBRL3 (5,000 records) and the local commune register of a
# generated population (`khop gen`, default profile), same files, unsupervised training for both,
# one evaluator (pairwise and B-cubed F1 of the clusters) for both answers.
# Usage: benches/dedupe_vs_splink.sh [WORK_DIR]   (from anywhere; needs cargo and python3)
# PERSONS=N sets the population (default 1,000,000: a register of about 230,000 records).
# VENV=/path/to/venv reuses a virtual environment that has splink, duckdb, recordlinkage, pyarrow.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/khop-dedupe-bench}"
venv="${VENV:-$work/venv}"
persons="${PERSONS:-1000000}"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import splink, duckdb, recordlinkage, pyarrow, pandas' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet splink duckdb recordlinkage pyarrow pandas
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
"$venv/bin/python" "$root/benches/dedupe_vs_splink.py" "$work" "$khop" "$persons"
