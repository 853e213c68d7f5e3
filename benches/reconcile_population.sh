#!/usr/bin/env bash
# The correction worklist against the generator's truth: generate a population, reconcile each
# sector table with the national table (`khop reconcile`), and score each worklist against the
# corruptions the generator injected (`khop eval --worklist`): recall of the injected conflicts
# and the share of spurious lines, per source and in all.
# Usage: benches/reconcile_population.sh [PERSONS] [WORK_DIR]   (from anywhere; needs cargo, python3)
# SEED picks another population, PROFILE=hard the hard error profile; KHOP_PROFILE=dev uses a dev build (accuracy figures are the same; timings are not comparable).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
persons="${1:-100000}"
work="${2:-${TMPDIR:-/tmp}/khop-reconcile-bench}"
seed="${SEED:-42}"
format="${FORMAT:-parquet}"   # FORMAT=csv keeps the tables readable
profile="${PROFILE:-default}" # the generator's error profile: default, hard or a TOML file
mkdir -p "$work"

if [ "${KHOP_PROFILE:-release}" = dev ]; then
    cargo build --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/debug/khop"
else
    cargo build --release --manifest-path "$root/Cargo.toml" -p khop-cli --bin khop
    khop="${CARGO_TARGET_DIR:-$root/target}/release/khop"
fi

"$khop" gen --persons "$persons" --seed "$seed" --profile "$profile" --format "$format" --out "$work"

# Roles written out: detection does not find the record ids of the land and local registers.
sed "s/\.parquet\"/.$format\"/" > "$work/khop.toml" <<'TOML'
[[input]]
name = "national"
path = "national.parquet"
id = "ma_cong_dan"
[input.columns]
so_dinh_danh = "national_id"
ho_va_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
que_quan = "hometown"
noi_thuong_tru = "address"
ho_ten_cha = "father_name"
ho_ten_me = "mother_name"
so_cmnd = "old_id"
so_dien_thoai = "phone"

[[input]]
name = "bhxh"
path = "bhxh.parquet"
id = "ma_so_bhxh"
[input.columns]
ho_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
so_cccd = "national_id"
dien_thoai = "phone"
dia_chi = "address"

[[input]]
name = "bhyt"
path = "bhyt.parquet"
id = "MA_THE"
[input.columns]
HO_TEN = "full_name"
NGAY_SINH = "date_of_birth"
GIOI_TINH = "sex"
SO_DDCN = "national_id"
DIA_CHI = "address"

[[input]]
name = "education"
path = "education.parquet"
id = "ma_hoc_sinh"
[input.columns]
ho_ten_hoc_sinh = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
so_dinh_danh = "national_id"
ho_ten_cha = "father_name"
ho_ten_me = "mother_name"
dia_chi_thuong_tru = "address"

[[input]]
name = "land"
path = "land.parquet"
id = "so_gcn"
[input.columns]
chu_su_dung = "full_name"
nam_sinh = "date_of_birth"
so_giay_to = "national_id"
dia_chi_thuong_tru = "address"

[[input]]
name = "local"
path = "local.parquet"
id = "so_dang_ky"
[input.columns]
ho_ten = "full_name"
ngay_sinh = "date_of_birth"
gioi_tinh = "sex"
so_giay_to = "national_id"
que_quan = "hometown"
noi_cu_tru = "address"
ho_ten_cha = "father_name"
ho_ten_me = "mother_name"
TOML

lscpu | grep -m1 'Model name' || true
for source in bhxh bhyt education land local; do
    echo "== $source"
    /usr/bin/time -f "reconcile $source: %e s, %M KiB peak" "$khop" reconcile --config "$work/khop.toml" \
        --left "$source" --right national \
        --out "$work/worklist_$source.csv" --unmatched "$work/unmatched_$source.csv" \
        --links "$work/links_${source}_pred.csv" --summary "$work/reconcile_$source.json" 2>"$work/reconcile_$source.log" \
        || { cat "$work/reconcile_$source.log"; exit 1; }
    tail -n 1 "$work/reconcile_$source.log"
    "$khop" eval --pred "$work/links_${source}_pred.csv" --truth "$work/links_$source.csv" \
        --worklist "$work/worklist_$source.csv" --corruptions "$work/corruptions_$source.csv" \
        --national-corruptions "$work/corruptions_national.csv" --json "$work/eval_$source.json" \
        | sed -n '/^conflicts on/,$p'
done

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
total = {k: 0 for k in ("linked_rows", "expected", "found", "reported", "spurious", "updates", "updates_on_conflicts")}
print(f"{'source':<10} {'linked':>8} {'injected':>9} {'found':>8} {'recall':>7} {'lines':>8} {'spurious':>9} {'share':>7}")
for source in ("bhxh", "bhyt", "education", "land", "local"):
    c = json.load(open(f"{work}/eval_{source}.json"))["conflicts"]
    for k in total:
        total[k] += c[k]
    print(f"{source:<10} {c['linked_rows']:>8} {c['expected']:>9} {c['found']:>8} {c['recall']:>7.4f} "
          f"{c['reported']:>8} {c['spurious']:>9} {c['spurious_rate']:>7.4f}")
t = total
print(f"{'all':<10} {t['linked_rows']:>8} {t['expected']:>9} {t['found']:>8} {t['found'] / max(t['expected'], 1):>7.4f} "
      f"{t['reported']:>8} {t['spurious']:>9} {t['spurious'] / max(t['reported'], 1):>7.4f}")
print(f"updates (legacy_units): {t['updates']}, of them on a changed address: {t['updates_on_conflicts']}")
PY
