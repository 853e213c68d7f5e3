"""The Python package against the `khop` command on the same link, and the memory of an Arrow
input against a file input.

    python benches/python_vs_cli.py --khop target/release/khop --dir DIR [--runs 2]

DIR holds `bhxh.parquet` and `national.parquet` (from `khop gen`). Each measurement runs in a
process of its own under `/usr/bin/time` (wall seconds, peak resident memory), alternating
command and package so that load on a shared machine falls on both:

1. `khop link --left bhxh --right national --out links.parquet` (the command);
2. `khop.link(bhxh, national)` then `write("links.parquet")` (the package, paths in);
3. the same with polars data frames in (read before the clock starts; their reading is
   reported apart);
4. `khop.read(national)` from the Parquet file, and from a polars data frame of it.

It fails unless the three link runs wrote the same links (row for row, value for value).
Needs the khop package, pyarrow and polars in the running Python.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

PACKAGE_LINK = """
import json, sys, time
import khop
sector, national, out, polars_in = sys.argv[1:5]
read_seconds = 0.0
if polars_in == "1":
    import polars as pl
    t = time.perf_counter()
    sector, national = pl.read_parquet(sector), pl.read_parquet(national)
    read_seconds = time.perf_counter() - t
t = time.perf_counter()
run = khop.link(sector, national)
run.write(out)
print(json.dumps({"seconds": time.perf_counter() - t, "polars_read": read_seconds}))
"""

PACKAGE_READ = """
import json, sys, time
import khop
path, polars_in = sys.argv[1:3]
frame_bytes = 0
if polars_in == "1":
    import polars as pl
    data = pl.read_parquet(path)
    frame_bytes = data.estimated_size()
else:
    data = path
t = time.perf_counter()
table = khop.read(data)
print(json.dumps({"seconds": time.perf_counter() - t, "records": len(table), "frame_bytes": frame_bytes}))
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    """Runs `command` under /usr/bin/time: wall seconds, peak RSS in MiB, its stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M", "-o", report.name, *command],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        wall, kib = report.read().split()[-2:]
    return float(wall), int(kib) / 1024, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--khop", required=True, type=pathlib.Path)
    parser.add_argument("--dir", required=True, type=pathlib.Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    sector, national = str(args.dir / "bhxh.parquet"), str(args.dir / "national.parquet")
    out = pathlib.Path(tempfile.mkdtemp(prefix="khop-python-vs-cli-"))
    python = sys.executable
    rows = []
    for run in range(args.runs):
        cli_out, py_out, pl_out = (str(out / f"{what}-{run}.parquet") for what in ["cli", "py", "pl"])
        wall, rss, _ = timed([str(args.khop), "link", "--left", sector, "--right", national, "--out", cli_out])
        rows.append(("command", run, wall, wall, rss, None))
        wall, rss, text = timed([python, "-c", PACKAGE_LINK, sector, national, py_out, "0"])
        inside = json.loads(text)
        rows.append(("package, paths", run, wall, inside["seconds"], rss, None))
        wall, rss, text = timed([python, "-c", PACKAGE_LINK, sector, national, pl_out, "1"])
        inside = json.loads(text)
        rows.append(("package, polars frames", run, wall, inside["seconds"], rss, inside["polars_read"]))
        expected = pq.read_table(cli_out)
        for other in [py_out, pl_out]:
            if not pq.read_table(other).equals(expected):
                sys.exit(f"{other}: links differ from the command's")
    print("| run | what | wall s (process) | link s (call, or process) | peak MiB | polars read s |")
    print("|---|---|---:|---:|---:|---:|")
    for what, run, wall, call, rss, polars_read in rows:
        extra = f"{polars_read:.2f}" if polars_read is not None else ""
        print(f"| {run + 1} | {what} | {wall:.2f} | {call:.2f} | {rss:,.0f} | {extra} |")

    print("\n| `khop.read` of the national table | read s | peak MiB | polars frame MiB |")
    print("|---|---:|---:|---:|")
    for run in range(args.runs):
        for label, polars_in in [("Parquet file", "0"), ("polars data frame", "1")]:
            _, rss, text = timed([python, "-c", PACKAGE_READ, national, polars_in])
            inside = json.loads(text)
            frame = f"{inside['frame_bytes'] / 2**20:,.0f}" if polars_in == "1" else ""
            print(f"| {label} | {inside['seconds']:.2f} | {rss:,.0f} | {frame} |")
    print(f"\nlinks identical in every run ({expected.num_rows:,} rows); files in {out}")


if __name__ == "__main__":
    main()
