"""Vietnamese linkage end to end, khop vs Splink, on one generated population.

Usage: python vn_vs_splink.py WORK_DIR KHOP_BINARY PERSONS [SOURCE]
       python vn_vs_splink.py --splink WORK_DIR SOURCE   (the Splink run alone, in a child process)

`khop gen` writes the population (national table, sector tables, truth). Both tools link the
sector table SOURCE (default `bhxh`, social insurance) to the national table without labels:

- khop: `khop link` with detected roles and default settings; a link is a `match` decision.
- Splink 5 (DuckDB): its own normalization in pandas (accents folded, names split into family,
  middle and given, eight date layouts parsed, ids split into 12-digit CCCD and 9-digit CMND,
  phones to their last nine digits, province from the address), then u by random sampling, the
  prior from deterministic rules, u from 1e6 random pairs (as khop), m by EM in two sessions, and prediction. A link is each sector
  record's best pair with probability >= 0.9 (khop's decision rule).

Both answers are scored by `khop eval` against `links_<SOURCE>.csv`. Each tool runs in a child
process of its own; its peak memory is that process's maximum resident set (os.wait4), its time
the child's wall time. The script fails when either F1 is below a floor: a fast wrong answer
must not pass.
"""

import csv
import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

F1_FLOOR = 0.95

# Each source's columns, mapped to the names both Splink tables share.
COLUMNS = {
    "national": {
        "id": "ma_cong_dan", "name": "ho_va_ten", "dob": "ngay_sinh", "sex": "gioi_tinh",
        "cccd": "so_dinh_danh", "cmnd": "so_cmnd", "phone": "so_dien_thoai",
        "address": "noi_thuong_tru",
    },
    "bhxh": {
        "id": "ma_so_bhxh", "name": "ho_ten", "dob": "ngay_sinh", "sex": "gioi_tinh",
        "anyid": "so_cccd", "phone": "dien_thoai", "address": "dia_chi",
    },
    "bhyt": {
        "id": "MA_THE", "name": "HO_TEN", "dob": "NGAY_SINH", "sex": "GIOI_TINH",
        "anyid": "SO_DDCN", "address": "DIA_CHI",
    },
}

HONORIFICS = {"ong", "ba", "anh", "chi", "co", "mr", "mrs", "ms"}


def fold(text, keep="/"):
    """Lower case without accents: what a Splink user would do with unicodedata. Characters
    other than letters, digits and those in `keep` become spaces."""
    if text is None:
        return None
    text = unicodedata.normalize("NFKD", str(text).replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(f"[^a-z0-9{re.escape(keep)} ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip() or None


def split_name(name):
    tokens = (fold(name) or "").split()
    while tokens and tokens[0] in HONORIFICS:
        tokens = tokens[1:]
    if not tokens:
        return None, None, None
    family, given = tokens[0], tokens[-1] if len(tokens) > 1 else None
    middle = " ".join(tokens[1:-1]) or None
    return family, middle, given


DATE_PATTERNS = [
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), "ymd"),
    (re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$"), "dmy"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "ymd"),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2})$"), "dmy2"),
    (re.compile(r"^ngay (\d{1,2}) thang (\d{1,2}) nam (\d{4})$"), "dmy"),
    (re.compile(r"^(\d{1,2})/(\d{4})$"), "my"),
    (re.compile(r"^(\d{4})$"), "y"),
]


def parse_date(value):
    """(ISO date or None, year or None) from the layouts the sources use."""
    text = fold(value, keep="/.-")
    if not text:
        return None, None
    for pattern, layout in DATE_PATTERNS:
        m = pattern.match(text)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        if layout == "ymd":
            y, mo, d = g
        elif layout == "dmy":
            d, mo, y = g
        elif layout == "dmy2":
            d, mo, y = g
            y += 1900 if y > 25 else 2000
        elif layout == "my":
            return None, str(g[1])
        else:
            return None, str(g[0])
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}", str(y)
        return None, str(y)
    return None, None


def sex(value):
    text = fold(value)
    if text in ("nam", "1", "m", "male", "nam gioi"):
        return "m"
    if text in ("nu", "2", "0", "f", "female", "nu gioi"):
        return "f"
    return None


def digits(value):
    if value is None:
        return None
    d = re.sub(r"\D", "", str(value))
    return d or None


def phone(value):
    d = digits(value)
    if not d:
        return None
    if d.startswith("84"):
        d = d[2:]
    return d[-9:] if len(d) >= 9 else None


def province(address):
    text = fold(address)
    if not text:
        return None
    last = re.split(r"[,]", str(address))[-1]
    last = fold(last) or ""
    last = re.sub(r"^(tinh|thanh pho|tp|t)\s+", "", last)
    return last or None


def prepare_splink_table(path, source):
    import pyarrow.parquet as pq

    cols = COLUMNS[source]
    table = pq.read_table(path, columns=[c for c in cols.values()]).to_pydict()
    n = len(table[cols["id"]])
    out = {k: [None] * n for k in ["unique_id", "family", "middle", "given", "full_name", "dob", "birth_year",
                                  "sex", "cccd", "cmnd", "phone", "address", "province"]}
    for i in range(n):
        out["unique_id"][i] = table[cols["id"]][i]
        family, middle, given = split_name(table[cols["name"]][i])
        out["family"][i], out["middle"][i], out["given"][i] = family, middle, given
        out["full_name"][i] = " ".join(t for t in (family, middle, given) if t) or None
        out["dob"][i], out["birth_year"][i] = parse_date(table[cols["dob"]][i])
        out["sex"][i] = sex(table[cols["sex"]][i])
        if "anyid" in cols:
            d = digits(table[cols["anyid"]][i])
            if d and len(d) == 12:
                out["cccd"][i] = d
            elif d and len(d) == 9:
                out["cmnd"][i] = d
        else:
            out["cccd"][i] = digits(table[cols["cccd"]][i])
            out["cmnd"][i] = digits(table[cols["cmnd"]][i])
        if "phone" in cols:
            out["phone"][i] = phone(table[cols["phone"]][i])
        out["address"][i] = fold(table[cols["address"]][i])
        out["province"][i] = province(table[cols["address"]][i])
    import pandas as pd

    return pd.DataFrame(out)


def prediction_rules():
    from splink import block_on

    return [
        block_on("cccd"),
        block_on("cmnd"),
        block_on("phone"),
        block_on("family", "dob"),
        block_on("given", "dob"),
        block_on("full_name", "birth_year"),
        block_on("given", "birth_year", "province"),
    ]


def splink_alone(work, source):
    """Splink 5 on DuckDB: its own normalization, unsupervised training, prediction."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    timings = {}
    started = time.perf_counter()
    left = prepare_splink_table(work / f"{source}.parquet", source)
    right = prepare_splink_table(work / "national.parquet", "national")
    timings["prepare"] = time.perf_counter() - started

    t = time.perf_counter()
    settings = SettingsCreator(
        link_type="link_only",
        blocking_rules_to_generate_predictions=prediction_rules(),
        comparisons=[
            cl.NameComparison("family").configure(term_frequency_adjustments=True),
            cl.NameComparison("given").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("middle", [0.9]),
            cl.DateOfBirthComparison("dob", input_is_string=True, invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("cccd", [1, 2]),
            cl.DamerauLevenshteinAtThresholds("cmnd", [1]),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("province").configure(term_frequency_adjustments=True),
            cl.JaroWinklerAtThresholds("address", [0.95, 0.85]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [db_api.register(left, dataset_display_name="sector"),
              db_api.register(right, dataset_display_name="national")]
    linker = Linker(tables, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("cccd"), block_on("full_name", "dob")], recall=0.8)
    timings["train_prior"] = time.perf_counter() - t
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    timings["train_u"] = time.perf_counter() - t - timings["train_prior"]
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("family", "given", "birth_year"))
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    timings["predict"] = time.perf_counter() - t

    t = time.perf_counter()
    # Splink orders each pair by its own rule; put the sector record first.
    sector_ids = set(left["unique_id"])
    swap = ~predictions["unique_id_l"].isin(sector_ids)
    pairs = predictions[["unique_id_l", "unique_id_r", "match_probability"]].copy()
    pairs.loc[swap, ["unique_id_l", "unique_id_r"]] = predictions.loc[swap, ["unique_id_r", "unique_id_l"]].values
    pairs.to_csv(work / "splink_pairs.csv", index=False)
    timings["write"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    (work / "splink_timings.json").write_text(json.dumps(timings))


def run_child(argv, log):
    """Runs a child; returns (wall seconds, peak RSS MiB)."""
    started = time.perf_counter()
    with open(log, "w") as out:
        child = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{argv[0]} failed; see {log}")
    return seconds, usage.ru_maxrss / 1024


def count_splink_pairs(work, source):
    """Pairs Splink's prediction rules generate, counted exactly afterwards (outside the timing)."""
    from splink import DuckDBAPI
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    db_api = DuckDBAPI()
    tables = [db_api.register(prepare_splink_table(work / f"{source}.parquet", source)),
              db_api.register(prepare_splink_table(work / "national.parquet", "national"))]
    counts = count_comparisons_from_blocking_rules(
        tables, blocking_rules=prediction_rules(), link_type="link_only", record_sample_proportion=1.0)
    return int(counts[-1]["cumulative_comparison_count"])


def evaluate(khop, pred, truth, work, name):
    out = work / f"eval_{name}.json"
    subprocess.run([khop, "eval", "--pred", str(pred), "--truth", str(truth), "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())["links"]


def best_per_left(path, threshold, out):
    best = {}
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            a, b, p = r["unique_id_l"], r["unique_id_r"], float(r["match_probability"])
            if a not in best or p > best[a][1] or (p == best[a][1] and b < best[a][0]):
                best[a] = (b, p)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["left_id", "right_id"])
        for a, (b, p) in sorted(best.items()):
            if p >= threshold:
                w.writerow([a, b])


def khop_matches(path, out):
    with open(path, newline="") as f, open(out, "w", newline="") as o:
        w = csv.writer(o)
        w.writerow(["left_id", "right_id"])
        for r in csv.DictReader(f):
            if r["decision"] == "match":
                w.writerow([r["left_id"], r["right_id"]])


def main():
    if sys.argv[1] == "--splink":
        splink_alone(Path(sys.argv[2]), sys.argv[3])
        return
    work, khop, persons = Path(sys.argv[1]).resolve(), sys.argv[2], int(sys.argv[3])
    source = sys.argv[4] if len(sys.argv) > 4 else "bhxh"
    work.mkdir(parents=True, exist_ok=True)
    marker = work / f"generated_{persons}"
    if not marker.exists():
        subprocess.run([khop, "gen", "--persons", str(persons), "--out", str(work)], check=True,
                       stdout=subprocess.DEVNULL)
        marker.touch()

    khop_s, khop_mib = run_child(
        [khop, "link", "--left", str(work / f"{source}.parquet"), "--right", str(work / "national.parquet"),
         "--out", str(work / "khop_links.csv"), "--summary", str(work / "khop_summary.json")],
        work / "khop.log")
    summary = json.loads((work / "khop_summary.json").read_text())
    khop_matches(work / "khop_links.csv", work / "khop_pred.csv")

    splink_s, splink_mib = run_child([sys.executable, __file__, "--splink", str(work), source],
                                     work / "splink.log")
    timings = json.loads((work / "splink_timings.json").read_text())
    best_per_left(work / "splink_pairs.csv", 0.9, work / "splink_pred.csv")
    splink_pairs = count_splink_pairs(work, source)

    truth = work / f"links_{source}.csv"
    rows = [
        ("khop link", evaluate(khop, work / "khop_pred.csv", truth, work, "khop"), khop_s, khop_mib,
         summary["pairs_scored"]),
        ("Splink 5 (DuckDB)", evaluate(khop, work / "splink_pred.csv", truth, work, "splink"), splink_s,
         splink_mib, splink_pairs),
    ]
    (work / "children.json").write_text(json.dumps({
        "khop": {"wall_s": khop_s, "peak_mib": khop_mib},
        "splink": {"wall_s": splink_s, "peak_mib": splink_mib},
    }))
    left_rows = summary["sector"]["records"]
    print(f"{persons} persons: {source} ({left_rows} rows) x national ({summary['national']['records']} rows)")
    print(f"{'tool':<20}{'precision':>10}{'recall':>9}{'F1':>9}{'pairs':>14}{'wall s':>9}{'peak MiB':>10}")
    for name, score, seconds, mib, pairs in rows:
        print(f"{name:<20}{score['precision']:>10.4f}{score['recall']:>9.4f}{score['f1']:>9.4f}"
              f"{pairs:>14,}{seconds:>9.1f}{mib:>10.0f}")
    print("khop stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in summary["seconds"].items()))
    print("Splink stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()))
    print(f"time ratio Splink / khop: {splink_s / khop_s:.1f}x end to end; "
          f"{(timings['train'] + timings['predict']) / (summary['seconds']['train'] + summary['seconds']['link']):.1f}x "
          f"training + prediction alone")
    failed = [name for name, score, *_ in rows if score["f1"] < F1_FLOOR]
    if failed:
        sys.exit(f"F1 below {F1_FLOOR}: {failed}")


if __name__ == "__main__":
    main()
