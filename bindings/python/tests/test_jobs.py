"""Deduplication, the correction worklist, explanations and the national index from Python:
the command's answers, as Arrow tables and dicts."""

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import khop

from conftest import run_khop


def test_dedupe_gives_the_commands_clusters(population, khop_command, tmp_path):
    out = tmp_path / "clusters.parquet"
    summary_file = tmp_path / "summary.json"
    run_khop(khop_command, "dedupe", str(population / "local.parquet"), "--out", str(out), "--summary", str(summary_file))
    result = khop.dedupe(population / "local.parquet")
    clusters = pa.table(result.clusters)
    assert clusters.equals(pq.read_table(out))
    expected = json.loads(summary_file.read_text())
    assert result.summary["clusters"] == expected["clusters"]
    assert pa.table(result.pairs).num_rows > 0


def test_reconcile_lists_the_fields_that_disagree(population, khop_command, tmp_path):
    out = tmp_path / "worklist.parquet"
    run_khop(
        khop_command,
        "reconcile",
        "--left",
        str(population / "bhyt.parquet"),
        "--right",
        str(population / "national.parquet"),
        "--out",
        str(out),
    )
    result = khop.reconcile(population / "bhyt.parquet", population / "national.parquet")
    worklist = pa.table(result.worklist)
    assert worklist.equals(pq.read_table(out))
    assert worklist.num_rows > 0
    assert pa.table(result.links).num_rows == pq.read_metadata(population / "bhyt.parquet").num_rows


def test_explain_a_pair(population):
    links = pa.table(khop.link(population / "bhxh.parquet", population / "national.parquet").links)
    matched = links.filter(pc.equal(links["decision"], "match"))
    left, right = matched["left_id"][0].as_py(), matched["right_id"][0].as_py()
    explained = khop.explain(population / "bhxh.parquet", population / "national.parquet", left, right)
    assert (explained["left_id"], explained["right_id"]) == (left, right)
    assert explained["match_probability"] == pytest.approx(matched["match_probability"][0].as_py())
    weights = sum(c["weight"] for c in explained["comparisons"])
    assert explained["match_weight"] == pytest.approx(explained["prior_weight"] + weights)


def test_index_build_lookup_update(population, tmp_path):
    national = khop.read(population / "national.parquet")
    sector = khop.read(population / "bhxh.parquet")
    model, report = khop.train(sector, national)
    assert report["random_pairs"] > 0 and report["sessions"]
    index = khop.Index.build(national, tmp_path / "national.idx", model=model)
    assert len(index) == len(national)

    # A record of the national table, looked up by its fields, finds itself.
    row = pq.read_table(population / "national.parquet").slice(5, 1).to_pylist()[0]
    query = {
        role: row[column]
        for column, role in national.roles.items()
        if role in {"full_name", "date_of_birth", "sex", "national_id", "address"}
    }
    answer = index.lookup(query)
    assert answer["best_id"] == row[national.id_column]
    assert answer["decision"] == "match"
    many = index.lookup([query, query], top=1)
    assert [a["best_id"] for a in many] == [row[national.id_column]] * 2
    assert len(many[0]["candidates"]) == 1

    # Delete it: the lookup no longer finds it; a second handle sees the commit after `reload`.
    other = khop.Index.open(tmp_path / "national.idx")
    done = index.update(deletes=[row[national.id_column]])
    assert (done["deleted"], done["records"]) == (1, len(national) - 1)
    assert index.lookup(query)["best_id"] != row[national.id_column]
    assert other.generation < index.generation
    assert other.reload() is True
    assert other.generation == index.generation
    assert len(other) == len(national) - 1
    assert other.reload() is False

    # Upsert it back from Arrow data with the index's columns.
    upsert = pq.read_table(population / "national.parquet").slice(5, 1)
    done = index.update(upserts=upsert)
    assert (done["upserted"], done["records"]) == (1, len(national))
    assert index.lookup(query)["best_id"] == row[national.id_column]


def test_a_link_against_the_index_is_the_link_against_the_file(population, tmp_path):
    national = khop.read(population / "national.parquet")
    index = khop.Index.build(national, tmp_path / "n.idx")
    by_index = pa.table(khop.link(population / "bhxh.parquet", index).links)
    by_file = pa.table(khop.link(population / "bhxh.parquet", national).links)
    assert by_index.equals(by_file)
    # The index keeps its records' blocking keys between links: the second link is the first.
    assert pa.table(khop.link(population / "bhxh.parquet", index).links).equals(by_file)

    # After an update, links see the records as they are now, not the kept table.
    first = by_file.filter(pc.equal(by_file["decision"], "match")).slice(0, 1).to_pylist()[0]
    index.update(deletes=[first["right_id"]])
    after = pa.table(khop.link(population / "bhxh.parquet", index).links)
    row = after.filter(pc.equal(after["left_id"], first["left_id"])).to_pylist()[0]
    assert row["right_id"] != first["right_id"], "a deleted record is still linked"
