#!/usr/bin/env bash
# khop similarity kernels vs Python rapidfuzz: same synthetic name lists, one core, one run each.
# Usage: benches/similarity_vs_rapidfuzz.sh [WORK_DIR]   (from anywhere; needs cargo and python3)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-${TMPDIR:-/tmp}/khop-similarity-bench}"
venv="$work/venv"
mkdir -p "$work"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
    "$venv/bin/pip" install --quiet rapidfuzz numpy
fi

# Built together with the criterion benches so that both share one set of dependency builds
# (dev-dependencies change feature unification, and the release profile links with fat LTO).
cargo build --release --manifest-path "$root/Cargo.toml" -p khop-benches --bin similarity_side_by_side --benches
bin="${CARGO_TARGET_DIR:-$root/target}/release/similarity_side_by_side"

# One core for both tools.
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi

lscpu | grep -m1 'Model name' || true
"$bin" generate "$work"
"${pin[@]}" "$bin" run "$work"
"${pin[@]}" "$venv/bin/python" "$root/benches/similarity_vs_rapidfuzz.py" "$work"
