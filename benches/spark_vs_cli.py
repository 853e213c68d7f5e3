"""khop inside Spark (local mode) against the `khop` command on the same link to a national index,
and the same deduplication.

    python benches/spark_vs_cli.py --khop target/release/khop --dir DIR --index DIR/national.idx \\
        [--master local[2]] [--partitions 2] [--runs 2] [--dedupe local.parquet]

DIR holds `bhxh.parquet` and `national.parquet` (from `khop gen`); the index is
`khop index build DIR/national.parquet --out DIR/national.idx`. A model is trained once with
`khop train` and given to both, so that both score the same pairs with the same weights. Each run,
alternating:

1. `khop link --left bhxh.parquet --index national.idx --model model.json --out cli.parquet`,
   timed as a process;
2. a Spark session (`--master`), `khop.spark.link(spark.read.parquet(bhxh), index, model=...,
   ship_index=False)` written as Parquet, timed from before the session starts to the end of the
   write (`session` is Spark's start alone); the tasks' own pairs and seconds come from
   `khop.spark.Counters`.

With `--dedupe FILE` (a table of DIR), `khop dedupe FILE` against `khop.spark.dedupe(spark, FILE,
shards=--partitions)`, the same way. It fails unless Spark's links (and clusters) equal the
command's, row for row. Needs the khop package (a release build), pyarrow and pyspark in the
running Python, and Java.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq

SPARK_JOB = """
import json, os, sys, time
started = time.perf_counter()
os.environ["PYSPARK_PYTHON"] = sys.executable
from pyspark.sql import SparkSession
import khop, khop.spark
master, job, data, index, model_path, out, partitions = sys.argv[1:8]
spark = (SparkSession.builder.master(master).appName("khop bench")
         .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
session = time.perf_counter() - started
counters = khop.spark.Counters(spark)
if job == "link":
    sector = spark.read.parquet(data)
    if int(partitions) > 0:
        sector = sector.repartition(int(partitions))
    model = khop.Model.load(model_path)
    links = khop.spark.link(sector, index, model=model, ship_index=False, counters=counters)
    links.write.mode("overwrite").parquet(out)
else:
    result = khop.spark.dedupe(spark, data, shards=int(partitions), ship_table=False, counters=counters)
    import pyarrow.parquet as pq
    pq.write_table(result.clusters.to_pyarrow(), out)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "session": session, **counters.as_dict()}))
spark.stop()
"""


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="khop-spark-bench-") as work:
        run_all(pathlib.Path(work))


def run_all(work: pathlib.Path) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--khop", required=True, type=pathlib.Path)
    parser.add_argument("--dir", required=True, type=pathlib.Path)
    parser.add_argument("--index", required=True, type=pathlib.Path)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--partitions", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--dedupe", help="a table of --dir to deduplicate as well")
    args = parser.parse_args()
    sector = args.dir / "bhxh.parquet"
    model = work / "model.json"
    subprocess.run(
        [str(args.khop), "train", "--left", str(sector), "--index", str(args.index), "--out", str(model)],
        check=True,
        capture_output=True,
    )
    job = work / "job.py"
    job.write_text(SPARK_JOB)
    rows = []
    for run in range(1, args.runs + 1):
        cli_seconds, _ = timed(
            [str(args.khop), "link", "--left", str(sector), "--index", str(args.index), "--model", str(model),
             "--out", str(work / "cli.parquet"), "--summary", str(work / "cli.json")]
        )
        cli = json.loads((work / "cli.json").read_text())
        spark_seconds, out = timed(
            [sys.executable, str(job), args.master, "link", str(sector), str(args.index), str(model),
             str(work / "spark"), str(args.partitions)]
        )
        spark = json.loads(out.strip().splitlines()[-1])
        check_links(work / "cli.parquet", work / "spark")
        threads = cli["threads"]
        rows.append(("link", run, cli_seconds, spark_seconds, spark, cli["pairs_scored"],
                     cli["pairs_per_core_second"], spark["pairs_scored"] / max(spark["scoring_seconds"], 1e-9)))
        if args.dedupe:
            table = args.dir / args.dedupe
            cli_seconds, _ = timed([str(args.khop), "dedupe", str(table), "--out", str(work / "cli-clusters.parquet"),
                                    "--summary", str(work / "cli-dedupe.json")])
            cli = json.loads((work / "cli-dedupe.json").read_text())
            spark_seconds, out = timed(
                [sys.executable, str(job), args.master, "dedupe", str(table), "-", "-",
                 str(work / "spark-clusters.parquet"), str(args.partitions)]
            )
            spark = json.loads(out.strip().splitlines()[-1])
            a, b = pq.read_table(work / "cli-clusters.parquet"), pq.read_table(work / "spark-clusters.parquet")
            if not a.equals(b.cast(a.schema)):
                sys.exit("the Spark clusters differ from the command's")
            rows.append(("dedupe", run, cli_seconds, spark_seconds, spark, cli["pairs_scored"], None,
                         spark["pairs_scored"] / max(spark["scoring_seconds"], 1e-9)))
    print(f"threads per task: {os.environ.get('RAYON_NUM_THREADS', 'the task CPUs (1 by default)')}; "
          f"the command's threads: {threads}")
    print("| job | run | command s | Spark s | Spark start s | tasks | task s | task open s | task prepare s "
          "| task scoring s | pairs | command pairs/core-s | Spark task pairs/core-s | Spark / command |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for job_name, run, cli_s, spark_s, spark, pairs, cli_rate, task_rate in rows:
        cli_rate_text = f"{cli_rate:,.0f}" if cli_rate else ""
        task_s = f"{spark['task_seconds']:.1f}" if spark["task_seconds"] else ""
        open_s = f"{spark['open_seconds']:.1f}" if job_name == "link" else ""
        print(f"| {job_name} | {run} | {cli_s:.1f} | {spark_s:.1f} | {spark['session']:.1f} | {spark['tasks']} "
              f"| {task_s} | {open_s} | {spark['prepare_seconds']:.1f} | {spark['scoring_seconds']:.1f} | {pairs:,} | {cli_rate_text} "
              f"| {task_rate:,.0f} | {spark_s / cli_s:.2f} |")


def check_links(cli_path: pathlib.Path, spark_path: pathlib.Path) -> None:
    cli = pq.read_table(cli_path).drop_columns(["left_row"]).sort_by([("left_id", "ascending")])
    spark = pq.read_table(spark_path).sort_by([("left_id", "ascending")])
    if cli.num_rows != spark.num_rows or not spark.equals(cli.cast(spark.schema)):
        sys.exit(f"the Spark links differ from the command's ({spark.num_rows} rows, {cli.num_rows})")


if __name__ == "__main__":
    main()
