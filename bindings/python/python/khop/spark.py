"""khop inside Apache Spark tasks: link a sector DataFrame to a national index, and deduplicate a
table, with the work done by khop's native engine in each task.

>>> import khop.spark                                                   # doctest: +SKIP
>>> links = khop.spark.link(sector_df, "/data/national.idx")            # doctest: +SKIP
>>> links.write.parquet("/data/links")                                  # doctest: +SKIP

Plans (``bindings/python/SPARK.md`` says which to choose and how to run them):

- **Link, index shipped** (``link``): the national index folder goes to every executor once
  (``SparkContext.addFile``, or a path every executor already sees); each task links its own
  partition of the sector DataFrame to it with ``mapInArrow``. A sector record's decision depends
  only on that record, the index and the model, but for one question about the whole table
  (whether another record claims the same citizen, for clear reviews and for ``one_to_one``):
  windows over the links answer it after the tasks, so the links are those of
  ``khop link --index`` with the same model, whatever the partitioning.
- **Dedupe, table shipped, pairs shared out** (``dedupe``): every task prepares the whole table
  (shipped as a file), blocks it, and scores only its share of the blocking tasks
  (``khop.dedupe_share(..., share=(i, n))``); the links above the threshold come back to the
  driver, which clusters them (``khop.dedupe_from_links``). Every candidate pair is scored in exactly
  one task, with the table's own term frequencies, so the clusters are the CLI's.

The model is trained once, on the driver (a sample of the sector DataFrame for ``link``; the
table for ``dedupe``), unless one is given, and broadcast to the tasks as JSON.

Each task runs khop's threads in its Python worker: ``RAYON_NUM_THREADS`` is set to the task's CPU
count (``spark.task.cpus``) before the engine starts, unless the executor's environment sets it.
"""

from __future__ import annotations

import os
import pathlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa  # type: ignore[import-untyped]

import khop

if TYPE_CHECKING:  # pragma: no cover - typing only
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["Counters", "REJECTED", "link", "dedupe", "train"]

#: Seed of the sample a model is trained on when none is given.
SAMPLE_SEED = 42

#: Decision given to a sector row that could not be read (its reason is in ``explanation``).
REJECTED = "rejected"

# Indexes opened in this Python worker, by path: a worker runs many tasks, and opening an index
# reads and checks every file of it.
_open_indexes: dict[str, khop.Index] = {}
# Tables prepared in this Python worker, by (path, roles, id): the table a dedupe shards.
_prepared_tables: dict[tuple[str, str, str | None], khop.Table] = {}


class Counters:
    """What khop's tasks did, in Spark accumulators: give one to ``link`` or ``dedupe`` and read
    it on the driver; each task's counts arrive when it finishes, so another thread can read them
    while the job runs. PySpark's accumulators have no name: the Spark UI does not list them. A
    task Spark retries, or a DataFrame computed twice, counts twice (accumulators in
    transformations do)."""

    def __init__(self, spark: SparkSession) -> None:
        context = spark.sparkContext
        #: Candidate pairs scored.
        self.pairs_scored = context.accumulator(0)
        #: Sector rows that could not be read (each comes out as a ``rejected`` row).
        self.rows_rejected = context.accumulator(0)
        #: Tasks that ran khop.
        self.tasks = context.accumulator(0)
        #: Seconds the tasks spent in khop's scoring stage (linking, or scoring a share), summed.
        self.scoring_seconds = context.accumulator(0.0)
        #: Seconds the tasks spent reading and preparing records, summed.
        self.prepare_seconds = context.accumulator(0.0)
        #: Seconds the tasks spent opening the index (once per Python worker), summed.
        self.open_seconds = context.accumulator(0.0)
        #: Seconds the tasks ran, from their first batch to their last output, summed.
        self.task_seconds = context.accumulator(0.0)

    def as_dict(self) -> dict[str, float]:
        """The counts now."""
        names = [
            "pairs_scored",
            "rows_rejected",
            "tasks",
            "scoring_seconds",
            "prepare_seconds",
            "open_seconds",
            "task_seconds",
        ]
        return {name: getattr(self, name).value for name in names}


def train(
    sector: DataFrame,
    index: str | os.PathLike[str],
    *,
    sample_rows: int = 200_000,
    seed: int = SAMPLE_SEED,
    roles: Mapping[str, str] | None = None,
    id: str | None = None,
    config: str | os.PathLike[str] | None = None,
    ship_index: bool = True,
) -> khop.Model:
    """Trains a model on at most about ``sample_rows`` records of ``sector`` drawn at random
    (``seed``) against the index ``index``, in one Spark task (where the index is: the driver
    never opens it). One pass over the DataFrame counts it, one draws the sample."""
    index = _index_folder(index)
    roles, id_column = _roles_on_driver(sector, roles, id)
    return _train(sector, index, sample_rows, seed, roles, id_column, config, ship_index)


def _train(
    sector: DataFrame,
    index: pathlib.Path,
    sample_rows: int,
    seed: int,
    roles: dict[str, str],
    id_column: str,
    config: str | os.PathLike[str] | None,
    ship_index: bool,
) -> khop.Model:
    """``train`` once the index folder is checked and the roles decided."""
    spark = sector.sparkSession
    total = sector.count()
    if total == 0:
        raise khop.InputError("the sector DataFrame holds no rows: nothing to train on")
    fraction = min(1.0, sample_rows / total)
    sample = sector if fraction >= 1.0 else sector.sample(withReplacement=False, fraction=fraction, seed=seed)
    where = _ship(spark, index, ship_index)
    input_schema = _arrow_schema(sector)
    config_path = None if config is None else str(config)

    def khop_train(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        _use_task_cpus()
        part = pa.Table.from_batches(list(batches), schema=input_schema)
        table = khop.read(part, name="sector sample", roles=roles, id=id_column)
        model, _ = khop.train(table, _open_index(where()), config=config_path)
        yield pa.RecordBatch.from_pydict({"model": [model.to_json()]})

    rows = sample.repartition(1).mapInArrow(khop_train, "model string").collect()
    return khop.Model.from_json(rows[0]["model"])


def link(
    sector: DataFrame,
    index: str | os.PathLike[str],
    *,
    model: khop.Model | None = None,
    roles: Mapping[str, str] | None = None,
    id: str | None = None,
    config: str | os.PathLike[str] | None = None,
    match_threshold: float | None = None,
    review_threshold: float | None = None,
    one_to_one: bool | None = None,
    clear_margin: float | bool | None = None,
    ship_index: bool = True,
    sample_rows: int = 200_000,
    counters: Counters | None = None,
) -> DataFrame:
    """Links every record of the Spark DataFrame ``sector`` to the national index folder ``index``
    (``khop index build`` or ``khop.Index.build``), one task per partition, and returns the links:
    the columns of ``khop link``'s output less ``left_row`` (a Spark row has no file position;
    records are known by the id column, which the DataFrame must have), one row per sector row.
    A row that cannot be read comes out with ``decision = "rejected"`` and the reason in
    ``explanation``, so that every input row is accounted for.

    ``roles`` and ``id`` are decided once, on the driver (detected on the first rows unless
    given), so that every task reads its partition alike. Without ``model``, one is trained in a
    task on a sample (``train``). The driver never opens the index. ``ship_index=False`` when
    ``index`` is a path every executor already sees (a shared filesystem, or unpacked from
    ``spark.archives``); otherwise the folder is copied to every executor once with
    ``SparkContext.addFile``.

    ``clear_margin`` (bits, or False; None: the configuration's) promotes clear reviews to
    matches as ``khop link --clear-margin`` does, and ``one_to_one`` (None: the configuration's)
    keeps one match per citizen as ``[link] one_to_one`` does. Whether another sector record
    claims the same citizen is a question about the whole table, so the tasks decide without
    either and passes over the links (windows on ``right_id``) apply them afterwards: the links
    are the command's. (Two sector rows with the very same weight for one citizen under
    ``one_to_one``: the command keeps the earlier row of its file, Spark, which has no file
    order, the smaller ``left_id``.)

    Nothing runs until the DataFrame is used (written, counted, collected); ``counters`` then
    holds what the tasks did.
    """
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = sector.sparkSession
    index = _index_folder(index)
    roles, id_column = _roles_on_driver(sector, roles, id)
    if model is None:
        model = _train(sector, index, sample_rows, SAMPLE_SEED, roles, id_column, config, ship_index)
    where = _ship(spark, index, ship_index)
    model_json = spark.sparkContext.broadcast(model.to_json())
    counters = counters or Counters(spark)
    options: dict[str, Any] = {
        "config": None if config is None else str(config),
        "match_threshold": match_threshold,
        "review_threshold": review_threshold,
    }
    decision = khop.link_thresholds(**options, one_to_one=one_to_one, clear_margin=clear_margin)
    # The tasks see one partition each: the promotion of clear reviews and the one match per
    # citizen wait for all of them.
    options["clear_margin"] = False
    options["one_to_one"] = False
    template = _signed(model.links_template().to_pyarrow().drop_columns(["left_row"]).schema)
    input_schema = _arrow_schema(sector)

    def khop_link(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        _use_task_cpus()
        part = pa.Table.from_batches(list(batches), schema=input_schema)
        if part.num_rows == 0:
            return
        started = time.perf_counter()
        national = _open_index(where())
        counters.open_seconds.add(time.perf_counter() - started)
        table = khop.read(part, name="sector", roles=roles, id=id_column)
        run = khop.link(table, national, model=khop.Model.from_json(model_json.value), **options)
        links = run.links.to_pyarrow().drop_columns(["left_row"])
        summary = run.summary
        counters.tasks.add(1)
        counters.pairs_scored.add(int(summary["pairs_scored"]))
        counters.scoring_seconds.add(float(summary["seconds"]["link"]))
        counters.prepare_seconds.add(float(summary["seconds"]["read_and_prepare"]))
        rejects = table.rejects
        if rejects:
            counters.rows_rejected.add(len(rejects))
            links = pa.concat_tables([links, _rejected_rows(part, rejects, id_column, links.schema)])
        # The model's comparisons in the data's order: the declared order is the model's.
        yield from links.select(template.names).cast(template).to_batches()
        counters.task_seconds.add(time.perf_counter() - started)

    links = sector.mapInArrow(khop_link, from_arrow_schema(template))
    # In the order `khop::link::linker::Linker::link_with_progress` takes.
    if decision["clear_margin"] is not None:
        links = _promote_clear_reviews(links, decision["review_probability"], decision["clear_margin"])
    if decision["one_to_one"]:
        links = _one_match_per_citizen(links)
    return links


def _promote_clear_reviews(links: DataFrame, review: float, margin: float) -> DataFrame:
    """``khop::link::promote_clear_reviews`` over the whole DataFrame: a ``review`` that is not
    ambiguous, whose runner-up is at least ``margin`` bits below (or absent), and whose national
    record is the likely candidate (probability at least ``review``) of no other sector row,
    becomes a ``match``."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    likely = (F.col("match_probability") >= review) & F.col("right_id").isNotNull()
    claims = F.sum(F.when(likely, 1).otherwise(0)).over(Window.partitionBy("right_id"))
    clear = (
        (F.col("decision") == "review")
        & ~F.col("ambiguous")
        & (F.col("margin").isNull() | (F.col("margin") >= margin))
        & (F.col("_claims") == 1)
    )
    columns = links.columns
    return (
        links.withColumn("_claims", claims)
        .withColumn("decision", F.when(clear, F.lit("match")).otherwise(F.col("decision")))
        .select(columns)
    )


def _one_match_per_citizen(links: DataFrame) -> DataFrame:
    """``khop::link::one_to_one`` over the whole DataFrame: of the matches naming one national
    record, the heaviest stays a match (equal weights: the smaller ``left_id``) and the others
    become reviews."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    is_match = F.col("decision") == "match"
    order = Window.partitionBy("right_id", is_match).orderBy(F.col("match_weight").desc(), F.col("left_id"))
    columns = links.columns
    return (
        links.withColumn("_rank", F.row_number().over(order))
        .withColumn("decision", F.when(is_match & (F.col("_rank") > 1), F.lit("review")).otherwise(F.col("decision")))
        .select(columns)
    )


def dedupe(
    spark: SparkSession,
    table: str | os.PathLike[str],
    *,
    shards: int | None = None,
    model: khop.Model | None = None,
    roles: Mapping[str, str] | None = None,
    id: str | None = None,
    config: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    min_link_density: float | None = None,
    ship_table: bool = True,
    counters: Counters | None = None,
) -> khop.DedupeResult:
    """Deduplicates the table in the file ``table`` (Parquet, CSV or NDJSON) with its candidate
    pairs scored in ``shards`` Spark tasks (default: the default parallelism), and returns what
    ``khop.dedupe`` returns (the clusters, the pairs inside them and the summary), the same as
    ``khop dedupe`` gives. ``threshold`` and ``min_link_density`` are ``khop.dedupe``'s.

    The driver reads the table (for the model, unless ``model`` is given, and for clustering: the
    links are few, the records are needed to refuse conflicting merges); each task prepares the
    whole table too, blocks it, and scores its share of the blocking tasks. Scoring is what grows
    with the table (pairs, not records), so it is what Spark shares out. ``ship_table=False`` when
    ``table`` is a path every executor already sees.
    """
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    context = spark.sparkContext
    path = pathlib.Path(table).resolve()
    if not path.is_file():
        raise khop.InputError(f"{path}: no such file")
    shards = shards or context.defaultParallelism
    if shards < 1:
        raise khop.ConfigError(f"shards must be at least 1, found {shards}")
    whole = khop.read(path, roles=roles, id=id)
    roles, id_column = whole.roles, whole.id_column
    if model is None:
        model, _ = khop.train(whole, config=config)
    where = _ship(spark, path, ship_table)
    model_json = context.broadcast(model.to_json())
    counters = counters or Counters(spark)
    options: dict[str, Any] = {
        "config": None if config is None else str(config),
        "threshold": threshold,
        "min_link_density": min_link_density,
    }
    links_schema = StructType(
        [
            StructField("a", LongType(), False),
            StructField("b", LongType(), False),
            StructField("probability", DoubleType(), False),
        ]
    )

    def khop_dedupe_share(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        _use_task_cpus()
        began = started = time.perf_counter()
        records = _prepare_table(where(), roles, id_column)
        counters.prepare_seconds.add(time.perf_counter() - started)
        shard_model = khop.Model.from_json(model_json.value)
        for batch in batches:
            for shard in batch.column(0).to_pylist():
                started = time.perf_counter()
                links, scored = khop.dedupe_share(records, shard_model, share=(int(shard), shards), **options)
                counters.tasks.add(1)
                counters.pairs_scored.add(scored)
                counters.scoring_seconds.add(time.perf_counter() - started)
                yield from links.to_pyarrow().cast(_links_arrow_schema()).to_batches()
        counters.task_seconds.add(time.perf_counter() - began)

    context.setJobDescription(f"khop dedupe {path.name}: score {shards} shards")
    try:
        shard_ids = spark.range(0, shards, 1, numPartitions=shards)
        links = shard_ids.mapInArrow(khop_dedupe_share, links_schema).toArrow()
    finally:
        context.setJobDescription(None)  # type: ignore[arg-type]
    return khop.dedupe_from_links(whole, links, model=model, **options)


def _index_folder(index: str | os.PathLike[str]) -> pathlib.Path:
    """``index`` as an absolute path, checked to be an index folder (cheaply: the driver does not
    open it)."""
    folder = pathlib.Path(index).resolve()
    if not (folder / "manifest.json").is_file():
        raise khop.InputError(f"{folder}: no index folder here (build one with `khop index build`)")
    return folder


def _ship(spark: SparkSession, index: pathlib.Path, ship: bool) -> Callable[[], str]:
    """Sends the folder or file ``index`` to every executor (once per Spark application) unless
    ``ship`` is false, and returns how a task finds it."""
    name, path = index.name, str(index)
    if not ship:
        return lambda: path
    context = spark.sparkContext
    # Spark lists what it ships as `file:/folder/name/`; a task finds it by its name alone.
    same_name = [listed for listed in context.listFiles if listed.rstrip("/").endswith("/" + name)]
    if not same_name:
        context.addFile(path, recursive=index.is_dir())
    elif not any(listed.rstrip("/").removeprefix("file:") == path for listed in same_name):
        raise khop.ConfigError(
            f"this Spark application already ships another `{name}` ({same_name[0]}): tasks find "
            f"shipped files by name, so give {path} another name, or pass it unshipped where every "
            "executor sees it"
        )

    def shipped() -> str:
        from pyspark import SparkFiles

        return SparkFiles.get(name)

    return shipped


def _use_task_cpus() -> None:
    """Gives khop's thread pool the task's CPUs (before the engine's first call in this worker)."""
    from pyspark import TaskContext

    context = TaskContext.get()
    cpus = context.cpus() if context is not None else 1
    os.environ.setdefault("RAYON_NUM_THREADS", str(max(1, cpus)))


def _open_index(path: str) -> khop.Index:
    """The index at ``path``, open in this worker: the last one opened is kept for the next
    task (and only it: a long-lived worker given a new index does not hold on to the old)."""
    index = _open_indexes.get(path)
    if index is None:
        _open_indexes.clear()
        index = _open_indexes[path] = khop.Index.open(path)
    return index


def _prepare_table(path: str, roles: Mapping[str, str], id_column: str | None) -> khop.Table:
    """The table at ``path``, prepared in this worker; the last one is kept, as ``_open_index``."""
    key = (path, repr(sorted(roles.items())), id_column)
    table = _prepared_tables.get(key)
    if table is None:
        _prepared_tables.clear()
        table = _prepared_tables[key] = khop.read(path, roles=dict(roles), id=id_column)
    return table


def _roles_on_driver(
    sector: DataFrame, roles: Mapping[str, str] | None, id: str | None
) -> tuple[dict[str, str], str]:
    """The roles and id column every task reads with: given, or detected on the first rows."""
    head = sector.limit(10_000).toArrow()
    if head.num_rows == 0:
        raise khop.InputError("the sector DataFrame holds no rows")
    table = khop.read(head, name="sector", roles=roles, id=id)
    if table.id_column is None:
        raise khop.ConfigError(
            "the sector DataFrame needs an id column (Spark rows have no file position to name "
            "them by): give `roles=` and `id=`"
        )
    return dict(table.roles), table.id_column


def _arrow_schema(frame: DataFrame) -> pa.Schema:
    """The Arrow schema of the batches Spark hands a task for ``frame``."""
    return frame.limit(0).toArrow().schema


def _signed(schema: pa.Schema) -> pa.Schema:
    """``schema`` with unsigned integers as int64: Spark has no unsigned types (row numbers fit)."""
    return pa.schema(
        [field.with_type(pa.int64()) if pa.types.is_unsigned_integer(field.type) else field for field in schema]
    )


def _rejected_rows(part: pa.Table, rejects: list[dict[str, Any]], id_column: str, schema: pa.Schema) -> pa.Table:
    """One links row per rejected sector row: its id (when readable), `rejected`, the reason."""
    ids = part.column(id_column)
    columns: dict[str, Any] = {name: pa.nulls(len(rejects), schema.field(name).type) for name in schema.names}
    columns["left_id"] = pa.array([_text(ids[int(r["row"]) - 1].as_py()) for r in rejects], pa.string())
    columns["match_probability"] = pa.array([0.0] * len(rejects), pa.float64())
    columns["ambiguous"] = pa.array([False] * len(rejects), pa.bool_())
    columns["decision"] = pa.array([REJECTED] * len(rejects), pa.string())
    columns["explanation"] = pa.array(
        [f"{r['reason']}: {r['message']}" + (f" (column {r['column']})" if r.get("column") else "") for r in rejects],
        pa.string(),
    )
    return pa.table(columns, schema=schema)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def _links_arrow_schema() -> pa.Schema:
    return pa.schema([("a", pa.int64(), False), ("b", pa.int64(), False), ("probability", pa.float64(), False)])
