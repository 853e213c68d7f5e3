#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints (warnings are errors), every test (doc
# tests included), the library's examples, a build of the benchmarks (run by hand, see
# benches/RESULTS.md), the Python package (built into a virtual environment under target/,
# tested with pytest, its example run; the browser tests of the report and the review page
# install Debian's chromium when run as root, and are skipped with a message where they cannot),
# and every fuzz target for 30 seconds (`FUZZ_QUICK=1 fuzz/run.sh`: a dev build with coverage
# instrumentation, two targets at a time; any crash fails the suite; long runs are recorded in
# fuzz/README.md). FUZZ_SECONDS changes the 30 seconds (0 skips the runs).
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

echo "== benchmarks build"
cargo build --workspace --benches --bins --locked

echo "== Python package (bindings/python: its own cargo workspace, built by maturin)"
command -v python3 >/dev/null || { echo "test.sh: python3 is missing (the Python package)" >&2; exit 1; }
cargo fmt --manifest-path bindings/python/Cargo.toml -- --check
# The package's build shares the main target folder: the engine is compiled once.
CARGO_TARGET_DIR=$PWD/target cargo clippy --manifest-path bindings/python/Cargo.toml --locked -- -D warnings
venv=$PWD/target/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bindings/python/requirements-test.txt
(cd bindings/python && VIRTUAL_ENV=$venv PATH=$venv/bin:$PATH CARGO_TARGET_DIR=$PWD/../../target \
    maturin develop --locked --quiet)
KHOP_BIN=$PWD/target/debug/khop "$venv/bin/python" -m pytest -q bindings/python/tests
# The type stubs describe the module as built: every name, signature and class.
"$venv/bin/python" -m mypy.stubtest khop
"$venv/bin/python" bindings/python/examples/link_population.py >/dev/null

fuzz_seconds=${FUZZ_SECONDS:-30}
if [ "$fuzz_seconds" -gt 0 ]; then
    echo "== fuzz targets, ${fuzz_seconds} s each"
    command -v python3 >/dev/null || { echo "test.sh: python3 is missing (fuzz seeds)" >&2; exit 1; }
    FUZZ_QUICK=1 fuzz/run.sh all "$fuzz_seconds"
else
    echo "== fuzz targets build (FUZZ_SECONDS=0: not run)"
    cargo build --manifest-path fuzz/Cargo.toml --locked
fi
