"""Reports and clerical review from Python: the same pages and pairs as the command, a clerk's
labels taken into training, and clear errors for bad labels."""

import csv

import pyarrow as pa
import pytest

import khop

from conftest import run_khop


@pytest.fixture(scope="module")
def run(population) -> khop.LinkResult:
    return khop.link(population / "bhxh.parquet", population / "national.parquet")


def truth(population) -> set[tuple[str, str]]:
    with (population / "links_bhxh.csv").open(newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return {(row[0], row[1]) for row in reader}


def test_a_report_is_a_page_with_the_runs_numbers(run, population):
    page = run.report()
    summary = run.summary
    assert page.startswith("<!DOCTYPE html>")
    assert f'data-key="match" data-value="{summary["decisions"]["match"]}"' in page
    assert "https://" not in page and "http://" not in page
    bare = run.report(samples=0)
    assert len(bare) < len(page)
    assert "Pairs near the thresholds" in bare and "<details" not in bare

    dedupe = khop.dedupe(population / "local.parquet")
    assert f'data-key="clusters" data-value="{dedupe.summary["clusters"]}"' in dedupe.report()
    reconciled = khop.reconcile(population / "bhxh.parquet", population / "national.parquet")
    assert 'data-key="conflicts"' in reconciled.report()


def test_review_pairs_are_the_commands_and_labels_teach_the_model(run, population, khop_command, tmp_path):
    review = pa.table(run.review(pairs=30))
    assert review.num_rows == 30
    assert review.column("label").to_pylist() == [""] * 30
    assert "match_probability" not in review.column_names

    exported = tmp_path / "review.csv"
    run_khop(khop_command, "review", "export", "--left", str(population / "bhxh.parquet"),
             "--right", str(population / "national.parquet"), "--out", str(exported), "--pairs", "30")
    with exported.open(newline="", encoding="utf-8") as f:
        command = [(r["left_id"], r["right_id"], r["reason"]) for r in csv.DictReader(f)]
    mine = list(zip(*(review.column(c).to_pylist() for c in ("left_id", "right_id", "reason"))))
    assert mine == command

    # A clerk answers from the truth; the next review skips those pairs.
    true_links = truth(population)
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["left_id", "right_id", "label"])
        for left, right, _ in mine:
            writer.writerow([left, right, "match" if (left, right) in true_links else "non_match"])
    again = pa.table(run.review(labels=[labels], pairs=30))
    assert not set(zip(again.column("left_id").to_pylist(), again.column("right_id").to_pylist())) & {
        (left, right) for left, right, _ in mine}
    page = run.review(labels=[labels], pairs=5, page=True)
    assert isinstance(page, str) and page.count('class="pair"') == 5

    model, report = khop.train(population / "bhxh.parquet", population / "national.parquet", labels=[labels])
    used = report["labels"]
    assert used["pairs_used"] == 30 and used["strength"] is None
    assert used["prior_shift_bits"] != 0.0
    assert report["sessions"], "the unsupervised training is reported as before"


def test_bad_labels_are_clear_errors(run, population, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("left_id,right_id,label\nXH1,CD1,perhaps\n")
    with pytest.raises(khop.KhopError, match="line 2"):
        run.review(labels=[bad])
    with pytest.raises(khop.KhopError, match="national"):
        khop.train(population / "local.parquet", labels=[bad])
