#!/usr/bin/env python3
"""One round of clerical review, with the generator's truth as the clerk: what 500 labels buy.

    python3 benches/review_round.py KHOP DIR [--persons 100000] [--profile hard] [--pairs 500]
        [--strength S]

KHOP is the `khop` command (a release build: target/release/khop). DIR holds a generated
population (made there with `khop gen` when it has no bhxh.parquet). The script links the
social-insurance table to the national table without labels, exports the pairs a clerk should
see (`khop review export`), answers them from the truth (links_bhxh.csv), trains again with the
answers (`khop train --labels`), links with that model, and prints precision, recall and F1 of
both runs against the whole truth, and of both against the labels themselves. Standard library
only; everything it writes goes into DIR/review-round/.
"""

from __future__ import annotations

import argparse
import csv
import json
import pathlib
import subprocess
import time


def run(*args: object) -> str:
    done = subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True)
    return done.stdout


def scores(khop: str, out: pathlib.Path, pred: pathlib.Path, *, truth=None, labels=None) -> dict:
    report = out / f"eval-{pred.stem}-{'labels' if labels else 'truth'}.json"
    extra = ["--labels", labels] if labels else ["--truth", truth]
    run(khop, "eval", "--pred", pred, *extra, "--json", report)
    data = json.loads(report.read_text())
    return data["labels"]["scores"] if labels else data["links"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("khop")
    parser.add_argument("dir", type=pathlib.Path)
    parser.add_argument("--persons", type=int, default=100_000, help="when DIR is generated")
    parser.add_argument("--profile", default="hard", help="when DIR is generated")
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--strength", type=float, default=None,
                        help="also combine m with the labelled matches (khop train --label-strength)")
    args = parser.parse_args()
    khop, data = args.khop, args.dir
    generated = not (data / "bhxh.parquet").exists()
    if generated:
        run(khop, "gen", "--persons", args.persons, "--profile", args.profile, "--out", data)
    out = data / "review-round"
    out.mkdir(exist_ok=True)
    tables = ["--left", data / "bhxh.parquet", "--right", data / "national.parquet"]
    truth = data / "links_bhxh.csv"

    started = time.perf_counter()
    run(khop, "link", *tables, "--out", out / "before.csv")
    link_seconds = time.perf_counter() - started
    run(khop, "review", "export", *tables, "--out", out / "review.csv", "--pairs", args.pairs)

    with truth.open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        true_links = {(row[0], row[1]) for row in reader}
    answered = {"match": 0, "non_match": 0}
    with (out / "review.csv").open(newline="") as f, (out / "labels.csv").open("w", newline="") as g:
        writer = csv.writer(g)
        writer.writerow(["left_id", "right_id", "label"])
        for row in csv.DictReader(f):
            label = "match" if (row["left_id"], row["right_id"]) in true_links else "non_match"
            answered[label] += 1
            writer.writerow([row["left_id"], row["right_id"], label])

    strength = [] if args.strength is None else ["--label-strength", args.strength]
    run(khop, "train", *tables, "--labels", out / "labels.csv", *strength, "--out", out / "taught.json")
    run(khop, "link", *tables, "--model", out / "taught.json", "--out", out / "after.csv")

    result = {
        # Persons and profile are known when this run generated the folder.
        "persons": args.persons if generated else None,
        "profile": args.profile if generated else None,
        "pairs": args.pairs,
        "strength": args.strength,
        "labels": answered,
        "link_seconds": round(link_seconds, 2),
    }
    print(f"labels: {answered['match']} match, {answered['non_match']} non_match; strength {args.strength}")
    print(f"{'run':<8} {'vs':<7} {'precision':>10} {'recall':>10} {'F1':>10} {'tp':>9} {'fp':>7} {'fn':>7}")
    for name in ["before", "after"]:
        pred = out / f"{name}.csv"
        for against, s in [("truth", scores(khop, out, pred, truth=truth)),
                           ("labels", scores(khop, out, pred, labels=out / "labels.csv"))]:
            result[f"{name}_{against}"] = s
            print(f"{name:<8} {against:<7} {s['precision']:>10.4f} {s['recall']:>10.4f} {s['f1']:>10.4f} "
                  f"{s['true_positives']:>9} {s['false_positives']:>7} {s['false_negatives']:>7}")
    gain = result["after_truth"]["recall"] - result["before_truth"]["recall"]
    print(f"recall gained against the whole truth: {gain:+.4f}")
    (out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
