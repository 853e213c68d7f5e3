#!/usr/bin/env bash
# Runs every `khop` command on a generated population with two builds of the binary and compares
# what they write, byte for byte: the check that a refactoring changed no answer.
#
#   benches/cli_outputs.sh BEFORE_KHOP AFTER_KHOP [PERSONS]
#
# Compared: links, clusters and their pairs, worklists, unmatched records, persons and conflicts,
# normalized rows, models, rejects, profiles, explanations and the tables printed by `blocking`
# and `eval`. Not compared: run summaries (they hold timings and memory figures) and progress
# lines on standard error. Exits non-zero on the first difference.
set -euo pipefail
before=$(realpath "$1")
after=$(realpath "$2")
persons=${3:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$before" gen --persons "$persons" --seed 7 --format csv --out "$work/data" >/dev/null
data="$work/data"
run() { # run NAME BIN ARGS...: runs one command into $work/NAME/<side>
    local side=$1 name=$2 bin=$3
    shift 3
    local dir="$work/$name/$side"
    mkdir -p "$dir"
    (cd "$dir" && "$bin" "$@" >stdout.txt 2>stderr.txt) || {
        echo "$name ($side) failed:" >&2
        cat "$dir/stderr.txt" >&2
        exit 1
    }
}

both() { # both NAME ARGS...: runs with both builds
    local name=$1
    shift
    run before "$name" "$before" "$@"
    run after "$name" "$after" "$@"
}

both profile profile --json "$data/bhxh.csv" "$data/national.csv" --rejects rejects.csv
both normalize normalize "$data/bhxh.csv" --out normalized.parquet --rejects rejects.csv
both link link --left "$data/bhxh.csv" --right "$data/national.csv" --out links.csv \
    --save-model model.json --rejects rejects.csv --summary summary.json
both link_parquet link --left "$data/bhxh.csv" --right "$data/national.csv" --out links.parquet \
    --match-threshold 0.95 --review-threshold 0.4 --one-to-one
both train train --left "$data/bhxh.csv" --right "$data/national.csv" --out model.json
both blocking blocking --left "$data/bhxh.csv" --right "$data/national.csv" --truth "$data/links_bhxh.csv"
both dedupe dedupe "$data/local.csv" --out clusters.csv --pairs pairs.csv --rejects rejects.csv
both reconcile reconcile --left "$data/bhxh.csv" --right "$data/national.csv" --out worklist.csv \
    --unmatched unmatched.csv --links links.csv
left_id=$(sed -n 2p "$data/links_bhxh.csv" | cut -d, -f1)
right_id=$(sed -n 2p "$data/links_bhxh.csv" | cut -d, -f2)
both explain explain --left "$data/bhxh.csv" --right "$data/national.csv" --pair "$left_id" "$right_id" --json
both multi link --left "$data/bhxh.csv" --left "$data/bhyt.csv" --right "$data/national.csv" --out out \
    --output-format csv
both multi_shared link --left "$data/bhxh.csv" --left "$data/bhyt.csv" --right "$data/national.csv" --out out \
    --output-format csv --shared-model
both eval eval --pred "$work/link/before/links.csv" --truth "$data/links_bhxh.csv" \
    --corruptions "$data/corruptions_bhxh.csv"
both config_init config init "$data/bhxh.csv" "$data/national.csv"

status=0
for name_dir in "$work"/*/before; do
    name=$(basename "$(dirname "$name_dir")")
    after_dir="$work/$name/after"
    while IFS= read -r -d '' file; do
        rel=${file#"$name_dir"/}
        case "$rel" in stderr.txt | summary.json | out/summary.json) continue ;; esac
        # Standard output holds timings for these commands; their files are compared instead.
        case "$name:$rel" in
        link:stdout.txt | link_parquet:stdout.txt | dedupe:stdout.txt | reconcile:stdout.txt | multi*:stdout.txt | normalize:stdout.txt | profile:stdout.txt) continue ;;
        esac
        if ! cmp -s "$file" "$after_dir/$rel"; then
            echo "DIFFERENT: $name/$rel" >&2
            status=1
        else
            echo "same: $name/$rel"
        fi
    done < <(find "$name_dir" -type f -print0 | sort -z)
done
exit $status
