#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints (warnings are errors), every test (doc
# tests included), the library's examples, and a build of the benchmarks and fuzz targets (built,
# not run: benchmarks are run by hand, see benches/RESULTS.md; fuzzing with fuzz/run.sh, see
# fuzz/README.md).
set -euo pipefail
cd "$(dirname "$0")"

for tool in cargo rustfmt cargo-clippy; do
    command -v "$tool" >/dev/null || { echo "test.sh: $tool is missing (rustup component add rustfmt clippy)" >&2; exit 1; }
done

echo "== formatting"
cargo fmt --all -- --check
cargo fmt --manifest-path fuzz/Cargo.toml -- --check

echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== tests (unit, integration and documentation tests)"
cargo test --workspace --locked

echo "== library examples"
for example in engine/examples/*.rs; do
    name=$(basename "$example" .rs)
    echo "-- $name"
    cargo run --quiet --locked -p khop --example "$name"
done

echo "== benchmarks and fuzz targets build"
cargo build --workspace --benches --bins --locked
cargo build --manifest-path fuzz/Cargo.toml --locked
