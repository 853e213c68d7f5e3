"""khop inside Spark (local mode, 2 workers): the links and clusters are the CLI's, every sector row
is accounted for, and mistakes are named before any task runs.

Needs PySpark (installed by ./test.sh) and a Java runtime; without Java the tests are skipped and
say why."""

import json
import os
import pathlib
import shutil
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import khop
from conftest import run_khop

pytest.importorskip("pyspark", reason="PySpark is not installed (./test.sh installs it)")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java runtime (java on the PATH or JAVA_HOME): Spark cannot start", allow_module_level=True)

import khop.spark  # noqa: E402  (after the skips: it is only useful with Spark)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The workers must run this Python, which has khop and pyarrow.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("khop tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def national_index(population, khop_command, tmp_path_factory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("spark") / "national.idx"
    run_khop(khop_command, "index", "build", str(population / "national.parquet"), "--out", str(folder))
    return folder


def by_left_id(table: pa.Table) -> pa.Table:
    return table.sort_by([("left_id", "ascending")])


def test_links_are_the_cli_links_whatever_the_partitions(spark, population, national_index, khop_command, tmp_path):
    sector = spark.read.parquet(str(population / "bhxh.parquet")).repartition(3)
    model = khop.spark.train(sector, national_index)
    model.save(tmp_path / "model.json")

    counters = khop.spark.Counters(spark)
    links = khop.spark.link(sector, national_index, model=model, counters=counters)
    got = by_left_id(links.toArrow())

    run_khop(
        khop_command,
        "link",
        "--left",
        str(population / "bhxh.parquet"),
        "--index",
        str(national_index),
        "--model",
        str(tmp_path / "model.json"),
        "-o",
        str(tmp_path / "links.parquet"),
        "--summary",
        str(tmp_path / "summary.json"),
    )
    cli = by_left_id(pq.read_table(tmp_path / "links.parquet").drop_columns(["left_row"]))
    assert got.num_rows == cli.num_rows == pq.read_metadata(population / "bhxh.parquet").num_rows
    assert got.column_names == cli.column_names
    assert got.equals(cli.cast(got.schema)), "the Spark links differ from `khop link --index`"
    assert pc.sum(pc.equal(got["decision"], "match")).as_py() > 0.9 * got.num_rows
    # The tasks' pair counts add up to the CLI's.
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert counters.pairs_scored.value == summary["pairs_scored"] > 0
    assert counters.rows_rejected.value == 0
    assert counters.tasks.value == 3, "one task per partition"

    # Another partitioning, the index at a path every worker sees: the same links.
    again = khop.spark.link(sector.repartition(5), national_index, model=model, ship_index=False)
    assert by_left_id(again.toArrow()).equals(got)


def with_copies(sector: pathlib.Path, twice: set[str], out: pathlib.Path) -> pathlib.Path:
    """Writes to ``out`` the sector table with the rows of ids ``twice`` written again under the
    id ``<id>-copy`` (after all the others): each of their citizens is then claimed twice."""
    table = pq.read_table(sector)
    copies = table.filter(pc.is_in(table["ma_so_bhxh"], pa.array(sorted(twice))))
    copies = copies.set_column(copies.schema.get_field_index("ma_so_bhxh"), "ma_so_bhxh",
                               pc.binary_join_element_wise(copies["ma_so_bhxh"], "-copy", ""))
    pq.write_table(pa.concat_tables([table, copies.cast(table.schema)]), out)
    return out


def test_clear_reviews_are_promoted_over_the_whole_table_as_the_command_does(
    spark, population, national_index, khop_command, tmp_path
):
    # A match threshold so high that many links go to review, most of them clear.
    strict = "0.9999999999"
    model_file, plain_file = tmp_path / "model.json", tmp_path / "plain.parquet"
    common = ["--index", str(national_index), "--match-threshold", strict]
    run_khop(khop_command, "link", "--left", str(population / "bhxh.parquet"), *common,
             "--clear-margin", "off", "--save-model", str(model_file), "-o", str(plain_file))
    plain = pq.read_table(plain_file)
    clear = pc.and_(pc.invert(plain["ambiguous"]), pc.or_(pc.is_null(plain["margin"]),
                                                          pc.greater_equal(plain["margin"], 2.0)))
    candidates = plain.filter(pc.and_(pc.equal(plain["decision"], "review"), clear))
    assert candidates.num_rows > 10
    # Five of those rows written twice under new ids: each citizen is claimed twice, and the
    # copies land in other partitions than their originals as often as not.
    twice = set(candidates["left_id"].to_pylist()[:5])
    sector_file = with_copies(population / "bhxh.parquet", twice, tmp_path / "sector.parquet")

    out = tmp_path / "links.parquet"
    run_khop(khop_command, "link", "--left", str(sector_file), *common, "--model", str(model_file),
             "--clear-margin", "2", "-o", str(out))
    cli = by_left_id(pq.read_table(out).drop_columns(["left_row"]))
    sector = spark.read.parquet(str(sector_file)).repartition(3)
    model = khop.Model.load(model_file)
    links = khop.spark.link(sector, national_index, model=model, match_threshold=float(strict), clear_margin=2.0)
    got = by_left_id(links.toArrow())
    assert got.equals(cli.cast(got.schema)), "the Spark links differ from `khop link --clear-margin 2`"

    decisions = dict(zip(got["left_id"].to_pylist(), got["decision"].to_pylist()))
    assert all(decisions[i] == decisions[i + "-copy"] == "review" for i in twice), "claimed twice: held"
    promoted = [i for i in candidates["left_id"].to_pylist() if i not in twice and decisions[i] == "match"]
    assert len(promoted) > 5
    assert khop.link_thresholds(clear_margin=2.0)["clear_margin"] == 2.0
    assert khop.link_thresholds()["clear_margin"] == 6.0, "on by default"
    assert khop.link_thresholds(clear_margin=False)["clear_margin"] is None


def test_one_match_per_citizen_over_the_whole_table_as_the_command_does(
    spark, population, national_index, khop_command, tmp_path
):
    # Five matched rows written twice under new ids: each copy claims its citizen with the very
    # weight of its original, in another partition as often as not.
    model_file, plain_file = tmp_path / "model.json", tmp_path / "plain.parquet"
    run_khop(khop_command, "link", "--left", str(population / "bhxh.parquet"), "--index", str(national_index),
             "--save-model", str(model_file), "-o", str(plain_file))
    plain = pq.read_table(plain_file)
    twice = set(plain.filter(pc.equal(plain["decision"], "match"))["left_id"].to_pylist()[:5])
    sector_file = with_copies(population / "bhxh.parquet", twice, tmp_path / "sector.parquet")

    out = tmp_path / "links.parquet"
    run_khop(khop_command, "link", "--left", str(sector_file), "--index", str(national_index),
             "--one-to-one", "--model", str(model_file), "-o", str(out))
    cli = by_left_id(pq.read_table(out).drop_columns(["left_row"]))
    sector = spark.read.parquet(str(sector_file)).repartition(3)
    links = khop.spark.link(sector, national_index, model=khop.Model.load(model_file), one_to_one=True)
    got = by_left_id(links.toArrow())
    assert got.equals(cli.cast(got.schema)), "the Spark links differ from `khop link` with one_to_one"

    decisions = dict(zip(got["left_id"].to_pylist(), got["decision"].to_pylist()))
    assert all(decisions[i] == "match" and decisions[i + "-copy"] == "review" for i in twice)
    assert khop.link_thresholds(one_to_one=True)["one_to_one"] is True
    assert khop.link_thresholds()["one_to_one"] is False, "off by default"
    # Without it, each copy is a match as its original is.
    loose = by_left_id(khop.spark.link(sector, national_index, model=khop.Model.load(model_file)).toArrow())
    loose_decisions = dict(zip(loose["left_id"].to_pylist(), loose["decision"].to_pylist()))
    assert all(loose_decisions[i + "-copy"] == "match" for i in twice)


def test_a_row_that_cannot_be_read_comes_out_rejected_with_its_reason(spark, population, national_index):
    from pyspark.sql import functions as F

    sector = spark.read.parquet(str(population / "bhxh.parquet"))
    id_column = "ma_so_bhxh"
    first = sector.orderBy(id_column).first()[id_column]
    # The first record loses its id: khop rejects it (missing_id); every other row is linked.
    broken = sector.withColumn(
        id_column, F.when(F.col(id_column) == first, F.lit(None)).otherwise(F.col(id_column))
    ).repartition(2)
    model = khop.spark.train(sector, national_index)
    counters = khop.spark.Counters(spark)
    links = khop.spark.link(broken, national_index, model=model, counters=counters).toArrow()
    assert links.num_rows == sector.count(), "every input row comes out once"
    assert counters.rows_rejected.value == 1
    rejected = links.filter(pc.equal(links["decision"], khop.spark.REJECTED)).to_pylist()
    assert len(rejected) == 1
    assert rejected[0]["left_id"] == ""
    assert rejected[0]["explanation"].startswith("missing_id"), rejected[0]["explanation"]
    assert rejected[0]["right_id"] is None


def test_clusters_are_the_cli_clusters(spark, population, khop_command, tmp_path):
    table = population / "local.parquet"
    counters = khop.spark.Counters(spark)
    result = khop.spark.dedupe(spark, table, shards=3, counters=counters)
    run_khop(khop_command, "dedupe", str(table), "-o", str(tmp_path / "clusters.parquet"))
    cli = pq.read_table(tmp_path / "clusters.parquet")
    got = result.clusters.to_pyarrow()
    assert got.num_rows == cli.num_rows == pq.read_metadata(table).num_rows
    assert got.equals(cli.cast(got.schema)), "the Spark clusters differ from `khop dedupe`"
    assert result.summary["clusters"] < got.num_rows, "the register holds duplicates"
    # Scoring was shared out, and the summary is the whole run's.
    alone = khop.dedupe(table)
    assert result.summary["pairs_scored"] == alone.summary["pairs_scored"] > 0
    assert counters.pairs_scored.value == alone.summary["pairs_scored"]
    assert counters.tasks.value == 3
    assert result.pairs.to_pyarrow().equals(alone.pairs.to_pyarrow())


def test_mistakes_are_named_on_the_driver(spark, population, national_index, tmp_path):
    sector = spark.read.parquet(str(population / "bhxh.parquet"))
    with pytest.raises(khop.InputError, match="no index folder"):
        khop.spark.link(sector, tmp_path / "nowhere.idx")
    # Without an id column, Spark rows could not be told apart in the links.
    no_ids = sector.drop("ma_so_bhxh")
    with pytest.raises(khop.ConfigError, match="needs an id column"):
        khop.spark.link(no_ids, national_index)
    with pytest.raises(khop.ConfigError, match="shards"):
        khop.spark.dedupe(spark, population / "local.parquet", shards=-1)
    with pytest.raises(khop.KhopError, match="part 2 of 2"):
        khop.dedupe_share(population / "local.parquet", khop.train(population / "local.parquet")[0], share=(2, 2))


def test_two_indexes_of_one_name_are_not_mixed_up(spark, population, national_index, tmp_path):
    # Tasks find shipped files by name: a second folder of the same name must not be answered
    # by the first one's files.
    other = tmp_path / national_index.name
    shutil.copytree(national_index, other)
    sector = spark.read.parquet(str(population / "bhxh.parquet"))
    model = khop.spark.train(sector, national_index)  # ships the first
    with pytest.raises(khop.ConfigError, match="already ships another"):
        khop.spark.link(sector, other, model=model)
    # Unshipped, the second one is used where it is.
    assert khop.spark.link(sector, other, model=model, ship_index=False).count() == sector.count()
