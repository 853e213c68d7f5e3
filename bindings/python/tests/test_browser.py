"""The run report (`khop link --report`, `khop report`) and the clerk's review page (`khop review
export`) opened in a real browser: headless Chromium from the Debian package, driven over the
DevTools protocol (tests/browser.py). Each test checks that the page logs no error and requests
nothing outside its own file, that what it shows equals what the run says, and saves a screenshot
under target/test-artifacts/. Without Chromium (and no way to install it) the tests are skipped
with a message that says so."""

from __future__ import annotations

import csv
import json
import pathlib
import subprocess

import pytest

import browser

ARTIFACTS = pathlib.Path(__file__).resolve().parents[3] / "target" / "test-artifacts"


@pytest.fixture(scope="module")
def chromium() -> str:
    found = browser.ensure_chromium()
    if found is None:
        pytest.skip(
            "no Chromium to open the report and the review page in: install the Debian package "
            "`chromium` (the test installs it itself when run as root with apt-get) or set KHOP_CHROMIUM"
        )
    return found


def khop(command: pathlib.Path, *args: object) -> str:
    done = subprocess.run([str(command), *map(str, args)], check=True, capture_output=True, text=True)
    return done.stdout


def tables(population: pathlib.Path) -> list[object]:
    return ["--left", population / "bhxh.parquet", "--right", population / "national.parquet"]


def test_the_report_shows_the_runs_numbers_offline(chromium, population, khop_command, tmp_path):
    summary_file, data, page_file = tmp_path / "summary.json", tmp_path / "report.json", tmp_path / "report.html"
    khop(khop_command, "link", *tables(population), "--out", tmp_path / "links.parquet",
         "--summary", summary_file, "--report", data)
    khop(khop_command, "report", data, "--out", page_file)
    summary = json.loads(summary_file.read_text())
    report = json.loads(data.read_text())
    assert page_file.stat().st_size < 400_000, "the report stays small whatever the row count"

    with browser.Page(chromium) as page:
        page.open(page_file)
        shown = page.evaluate(
            "Object.fromEntries([...document.querySelectorAll('[data-key]')]"
            ".map(e => [e.dataset.key, Number(e.dataset.value)]))"
        )
        decisions = summary["decisions"]
        assert shown["rows_read"] == summary["sector"]["rows_read"] + summary["national"]["rows_read"]
        assert shown["rows_rejected"] == summary["rows_rejected"]
        assert shown["sector_records"] == summary["sector"]["records"]
        assert shown["pairs_scored"] == summary["pairs_scored"]
        assert (shown["match"], shown["review"], shown["no_match"]) == (
            decisions["match"], decisions["review"], decisions["no_match"])
        # The visible text of a figure is the same number, grouped for people.
        assert page.evaluate("document.querySelector('[data-key=match]').textContent") == f"{decisions['match']:,}"

        # Vietnamese text renders as written: a sampled record's value, accents and all.
        value = next(t["left_value"] for g in report["samples"] for p in g["pairs"] for t in p["terms"]
                     if any(ord(c) > 127 for c in t["left_value"]))
        assert page.evaluate(f"document.body.innerText.includes({json.dumps(value)})"), value
        assert page.evaluate("document.characterSet") == "UTF-8"

        # Tables sort: the blocking table by its pairs column, both ways.
        column = "[...document.querySelectorAll('#blocking + p + table tbody tr')].map(r => Number(r.cells[1].dataset.sort))"
        page.click("#blocking + p + table th:nth-child(2)")
        ascending = page.evaluate(column)
        assert ascending == sorted(ascending) and len(ascending) > 1
        page.click("#blocking + p + table th:nth-child(2)")
        assert page.evaluate(column) == sorted(ascending, reverse=True)

        # Every chart is drawn: the histogram and one chart per comparison at least.
        charts = page.evaluate("document.querySelectorAll('svg.chart').length")
        assert charts >= 2 + len(report["model"]["comparisons"])

        assert page.console_errors == []
        assert page.network_requests_outside(page.url) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(ARTIFACTS / "report.png")


def test_the_review_page_saves_a_clerks_answers_as_labels(chromium, population, khop_command, tmp_path):
    review, downloads = tmp_path / "review.html", tmp_path / "downloads"
    downloads.mkdir()
    khop(khop_command, "review", "export", *tables(population), "--out", review, "--pairs", 20)
    text = review.read_text()
    assert "probability" not in text and "bits" not in text, "the clerk is not shown the model's score"

    with browser.Page(chromium, download_dir=downloads) as page:
        page.open(review)
        pairs = page.evaluate("[...document.querySelectorAll('.pair')].map(p => [p.dataset.left, p.dataset.right])")
        assert len(pairs) == 20
        page.click(".pair:nth-of-type(1) button[data-label=match]")
        # The keyboard answers the pair that has the focus: after an answer, the next one.
        page.evaluate("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'n'}))")
        page.click(".pair:nth-of-type(4) button[data-label=unsure]")
        assert page.evaluate("document.getElementById('progress').dataset.answered") == "3"
        page.click("#save")
        saved = page.wait_for_download()
        with saved.open(newline="", encoding="utf-8") as f:
            rows = [(r["left_id"], r["right_id"], r["label"]) for r in csv.DictReader(f)]
        assert rows == [(*pairs[0], "match"), (*pairs[1], "non_match"), (*pairs[3], "unsure")]

        # The answers survive a reload of the page (kept in the browser until saved).
        page.open(review)
        assert page.evaluate("document.getElementById('progress').dataset.answered") == "3"
        assert page.evaluate("document.querySelector('.pair:nth-of-type(2)').dataset.answer") == "non_match"

        assert page.console_errors == []
        assert page.network_requests_outside(page.url) == []
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(ARTIFACTS / "review.png")

    # The saved file is a labels file: the next export skips what it settles.
    again = tmp_path / "again.csv"
    out = khop(khop_command, "review", "export", *tables(population), "--out", again, "--pairs", 20,
               "--labels", saved)
    with again.open(newline="", encoding="utf-8") as f:
        exported = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f)}
    assert not exported & {tuple(pairs[i]) for i in (0, 1, 3)}
    assert "3 already labelled" in out
