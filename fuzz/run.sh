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
#
# FUZZ_QUICK=1 (what `./test.sh` uses): no cargo-fuzz and no sanitizer; the targets are built in
# the dev profile with libFuzzer's coverage instrumentation passed to rustc directly (stable
# flags), and the targets run two at a time. Slower per execution than the release build, but
# it needs nothing beyond the toolchain and a C++ compiler, and it fails on any crash.
#
# FUZZ_SEED: libFuzzer's random seed. The quick runs default to a fixed one (1), so that the suite
# explores the same inputs first on every machine and a green run here predicts a green CI; a
# machine that runs faster goes further along the same path. The longer runs that look for new
# crashes default to a random seed (0, libFuzzer's "pick one").
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
all=(csv_rows ndjson_rows parquet config model labels report date id phone name address index)
if [ "$which_target" = all ]; then
    targets=("${all[@]}")
else
    [[ " ${all[*]} " == *" $which_target "* ]] || { echo "unknown target $which_target" >&2; usage; }
    targets=("$which_target")
fi

export RUSTC_BOOTSTRAP=1
flags=(--release --debug-assertions --sanitizer "${FUZZ_SANITIZER:-none}")
[ -n "${FUZZ_JOBS:-}" ] && flags+=(--jobs "$FUZZ_JOBS")
quick=${FUZZ_QUICK:-0}
default_seed=0
[ "$quick" = 1 ] && default_seed=1

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

if [ "$quick" = 1 ]; then
    host=$(rustc -vV | sed -n 's/^host: //p')
    # The flags cargo-fuzz passes for libFuzzer's coverage feedback; `--target` keeps them off
    # build scripts and procedural macros.
    export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions"
    echo "building: cargo build --target $host (dev profile, coverage instrumentation)" >&2
    cargo build --locked --target "$host" --bins >&2
    bin_dir=target/$host/debug
else
    echo "building: cargo fuzz build ${flags[*]}" >&2
    if [ "$which_target" = all ]; then
        cargo fuzz build "${flags[@]}" >&2
    else
        cargo fuzz build "${flags[@]}" "$which_target" >&2
    fi
fi

# Runs one target; its log is logs/TARGET.log.
run_one() {
    local t=$1 log=logs/$1.log
    local libfuzzer=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="artifacts/$t/"
        -seed="${FUZZ_SEED:-$default_seed}")
    # A crash stops the run; the status is that of the crash, not of this script.
    if [ "$quick" = 1 ]; then
        "$bin_dir/$t" "corpus/$t" "${libfuzzer[@]}" >"$log" 2>&1 || true
    else
        cargo fuzz run "${flags[@]}" "$t" "corpus/$t" -- "${libfuzzer[@]}" >"$log" 2>&1 || true
    fi
}

mkdir -p logs
declare -A before
for t in "${targets[@]}"; do
    seed "$t"
    mkdir -p "artifacts/$t"
    before[$t]=$(find "artifacts/$t" -type f | wc -l)
done
if [ "$quick" = 1 ]; then
    # Two at a time.
    for ((i = 0; i < ${#targets[@]}; i += 2)); do
        run_one "${targets[i]}" &
        if ((i + 1 < ${#targets[@]})); then run_one "${targets[i + 1]}" & fi
        wait
    done
else
    for t in "${targets[@]}"; do
        run_one "$t"
    done
fi

crashed=0
printf '%-12s %8s %12s %8s\n' target seconds execs crashes
for t in "${targets[@]}"; do
    log=logs/$t.log
    after=$(find "artifacts/$t" -type f | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ -z "$execs" ]; then
        execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
    fi
    crashes=$((after - before[$t]))
    printf '%-12s %8s %12s %8s\n' "$t" "$seconds" "${execs:-?}" "$crashes"
    if [ "$crashes" -gt 0 ]; then
        crashed=1
        echo "$t: new crash input in fuzz/artifacts/$t/; log: fuzz/$log; its end:" >&2
        # What the crash was (panic, slow unit, out of memory), for a run whose files are gone.
        grep -v '^#[0-9]' "$log" | tail -n 25 | sed 's/^/    /' >&2
    fi
done
# In quick mode (the test suite) a crash fails the run.
[ "$quick" = 1 ] && exit "$crashed"
exit 0
