#!/usr/bin/env bash
# Runs fuzz targets for a given time each, with seed corpora built from engine/testdata, and
# prints the executions and crashes of each.
#
#   fuzz/run.sh TARGET|all SECONDS
#
# Seeds: the files of engine/testdata/fuzz/TARGET/ (crash inputs kept as regression cases), the
# reader test files of engine/testdata/read/ (behind a zero options byte) for the reader targets,
# and the `input` values of engine/testdata/normalize/*.toml for the normalizer targets. They are
# copied into fuzz/corpus/TARGET/, which git ignores; crashes land in fuzz/artifacts/TARGET/.
#
# Environment: FUZZ_SANITIZER (default `none`, fast to build and run; `address` for
# AddressSanitizer, worth it for the readers, whose dependencies have unsafe code), FUZZ_JOBS
# (cargo build jobs). Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and python3.
set -euo pipefail

usage() {
    echo "usage: $0 TARGET|all SECONDS" >&2
    exit 2
}
[ $# -eq 2 ] || usage
which_target=$1
seconds=$2
[[ $seconds =~ ^[0-9]+$ ]] || usage

here=$(cd "$(dirname "$0")" && pwd)
testdata=$here/../engine/testdata
cd "$here"
all=(csv_rows ndjson_rows parquet config model date id phone name address)
if [ "$which_target" = all ]; then
    targets=("${all[@]}")
else
    [[ " ${all[*]} " == *" $which_target "* ]] || { echo "unknown target $which_target" >&2; usage; }
    targets=("$which_target")
fi

export RUSTC_BOOTSTRAP=1
flags=(--release --debug-assertions --sanitizer "${FUZZ_SANITIZER:-none}")
[ -n "${FUZZ_JOBS:-}" ] && flags+=(--jobs "$FUZZ_JOBS")

# Seed corpus of one target.
seed() {
    local target=$1 dir=corpus/$1
    mkdir -p "$dir"
    if [ -d "$testdata/fuzz/$target" ]; then
        cp "$testdata/fuzz/$target"/* "$dir"/
    fi
    local pattern="" toml=""
    case $target in
        csv_rows) pattern='*.csv *.tsv' ;;
        ndjson_rows) pattern='*.ndjson' ;;
        parquet) pattern='*.parquet' ;;
        date) toml=dates ;;
        id) toml=ids ;;
        phone) toml=phones ;;
        name) toml=names ;;
        address) toml=addresses ;;
    esac
    if [ -n "$pattern" ]; then
        local f
        for f in $(cd "$testdata/read" && eval "ls good/$pattern bad/$pattern 2>/dev/null || true"); do
            { printf '\0'; cat "$testdata/read/$f"; } >"$dir/seed-${f//\//-}"
        done
    fi
    if [ -n "$toml" ]; then
        python3 - "$testdata/normalize/$toml.toml" "$dir" <<'PY'
import hashlib, pathlib, sys, tomllib
doc = tomllib.loads(pathlib.Path(sys.argv[1]).read_text())
for case in doc.get("case", []):
    value = case.get("input")
    if isinstance(value, str):
        data = value.encode()
        (pathlib.Path(sys.argv[2]) / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)
PY
    fi
}

echo "building: cargo fuzz build ${flags[*]}" >&2
if [ "$which_target" = all ]; then
    cargo fuzz build "${flags[@]}" >&2
else
    cargo fuzz build "${flags[@]}" "$which_target" >&2
fi

printf '%-12s %8s %12s %8s\n' target seconds execs crashes
for t in "${targets[@]}"; do
    seed "$t"
    mkdir -p "artifacts/$t" logs
    before=$(find "artifacts/$t" -type f | wc -l)
    log=logs/$t.log
    # A crash stops the run; the status is that of the crash, not of this script.
    cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || true
    after=$(find "artifacts/$t" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then
        execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    fi
    printf '%-12s %8s %12s %8s\n' "$t" "$seconds" "${execs:-?}" "$((after - before))"
done
