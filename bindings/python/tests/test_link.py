"""Linking from Python gives the `khop` command's answers, whatever the input: a file, or Arrow
data from pyarrow, polars, pandas or DuckDB, with any of Arrow's string layouts."""

import duckdb
import pandas
import polars
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import khop

from conftest import run_khop


def rows(path) -> int:
    return pq.read_metadata(path).num_rows


def links_of(result: khop.LinkResult) -> pa.Table:
    return pa.table(result.links).sort_by("left_id")


@pytest.fixture(scope="module")
def command_links(population, khop_command, tmp_path_factory) -> pa.Table:
    out = tmp_path_factory.mktemp("cli") / "links.parquet"
    run_khop(
        khop_command,
        "link",
        "--left",
        str(population / "bhxh.parquet"),
        "--right",
        str(population / "national.parquet"),
        "--out",
        str(out),
    )
    return pq.read_table(out).sort_by("left_id")


def test_files_give_the_commands_links(population, command_links):
    result = khop.link(population / "bhxh.parquet", population / "national.parquet")
    links = links_of(result)
    assert links.num_rows == command_links.num_rows == rows(population / "bhxh.parquet")
    assert links.equals(command_links)
    decisions = result.summary["decisions"]
    assert decisions["match"] == pc.sum(pc.equal(links["decision"], "match")).as_py()
    assert decisions["match"] > 0.9 * links.num_rows


def test_arrow_inputs_give_the_same_links(population, command_links):
    sector = pq.read_table(population / "bhxh.parquet")
    national = pq.read_table(population / "national.parquet")
    con = duckdb.connect()
    inputs = {
        "pyarrow": (sector, national),
        "pyarrow reader": (sector.to_reader(max_chunksize=97), national.to_reader(max_chunksize=1000)),
        "polars": (polars.from_arrow(sector), polars.from_arrow(national)),
        "pandas": (sector.to_pandas(), national.to_pandas()),
        "duckdb": (
            con.sql(f"select * from '{population / 'bhxh.parquet'}'"),
            con.sql(f"select * from '{population / 'national.parquet'}'"),
        ),
    }
    for what, (left, right) in inputs.items():
        assert links_of(khop.link(left, right)).equals(command_links), what


def relaid(table: pa.Table, string_type: pa.DataType) -> pa.Table:
    schema = pa.schema([pa.field(f.name, string_type if pa.types.is_string(f.type) else f.type) for f in table.schema])
    return table.cast(schema)


@pytest.mark.parametrize("string_type", [pa.large_string(), pa.string_view()], ids=["large_string", "string_view"])
def test_every_string_layout_is_read(population, command_links, string_type):
    sector = relaid(pq.read_table(population / "bhxh.parquet"), string_type)
    national = relaid(pq.read_table(population / "national.parquet"), string_type)
    assert links_of(khop.link(sector, national)).equals(command_links)


def test_a_table_read_once_serves_several_jobs(population, command_links):
    sector = khop.read(population / "bhxh.parquet")
    national = khop.read(pq.read_table(population / "national.parquet"), name="national")
    assert (len(sector), len(national)) == (rows(population / "bhxh.parquet"), rows(population / "national.parquet"))
    assert national.name == "national"
    assert national.roles["ho_va_ten"] == "full_name"
    assert national.id_column == "ma_cong_dan"
    first = khop.link(sector, national)
    assert links_of(first).equals(command_links)
    # The model of one run scores the next without training.
    again = khop.link(sector, national, model=first.model)
    assert links_of(again).equals(command_links)
    saved = first.model.to_json()
    assert khop.Model.from_json(saved).to_json() == saved


def test_thresholds_and_results_written(population, tmp_path):
    strict = khop.link(population / "bhxh.parquet", population / "national.parquet", match_threshold=0.999999)
    loose = khop.link(population / "bhxh.parquet", population / "national.parquet")
    assert strict.summary["decisions"]["match"] < loose.summary["decisions"]["match"]
    out = tmp_path / "links.csv"
    sector_rows = rows(population / "bhxh.parquet")
    assert loose.write(out) == sector_rows
    assert out.read_text(encoding="utf-8").count("\n") == sector_rows + 1


def test_results_convert_to_pandas_and_polars(population):
    result = khop.link(population / "bhxh.parquet", population / "national.parquet")
    frame = result.links.to_pandas()
    sector_rows = rows(population / "bhxh.parquet")
    assert isinstance(frame, pandas.DataFrame) and len(frame) == sector_rows
    assert polars.DataFrame(result.links).height == sector_rows
    assert result.links.to_polars().columns == result.links.column_names


def test_several_sources_in_one_run(population, khop_command, tmp_path):
    national = population / "national.parquet"
    sources = {"bhxh": population / "bhxh.parquet", "bhyt": pq.read_table(population / "bhyt.parquet")}
    result = khop.link_sources(sources, national)
    assert list(result.runs) == ["bhxh", "bhyt"]
    # Each source's own model: its links are those of a link of its own.
    for name, data in sources.items():
        assert links_of(result.runs[name]).equals(links_of(khop.link(data, national))), name
    # The persons and conflicts are the command's.
    out = tmp_path / "run"
    run_khop(khop_command, "link", "--left", str(population / "bhxh.parquet"), "--left",
             str(population / "bhyt.parquet"), "--right", str(national), "--out", str(out))
    assert pa.table(result.persons).equals(pq.read_table(out / "persons.parquet"))
    assert pa.table(result.conflicts).equals(pq.read_table(out / "conflicts.parquet"))
    assert sum(result.summary["persons_by_sources"]) == rows(national)
    shared = khop.link_sources([population / "bhxh.parquet", population / "bhyt.parquet"], national, shared_model=True)
    assert list(shared.runs) == ["bhxh", "bhyt"]
    with pytest.raises(khop.ConfigError, match="not both"):
        khop.link_sources(sources, national, shared_model=True, model=result.runs["bhxh"].model)
