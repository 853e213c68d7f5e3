"""Python rapidfuzz on the same lists as `similarity_side_by_side run`, checking both answers.

Usage: python similarity_vs_rapidfuzz.py DIR   (after the Rust binary has written DIR/rust_*.txt)
"""

import sys
import time
from pathlib import Path

import numpy as np
import rapidfuzz
from rapidfuzz.distance import JaroWinkler, Levenshtein
from rapidfuzz.process import cdist

SAMPLE_STRIDE = 997
# Fastest of this many runs, as on the Rust side: the machines are shared and noisy.
REPEATS = 5
# Calls per timed run, so that a run is long against the 4 ms steps in which some virtual
# machines count thread CPU time.
CALLS_PER_RUN = 3


def read_rust(path):
    lines = path.read_text().splitlines()
    head = dict(line.split(" ", 1) for line in lines[:4])
    return int(head["pairs"]), float(head["seconds"]), float(head["cpu"]), float(head["sum"]), lines[4:]


def main():
    d = Path(sys.argv[1])
    print(f"rapidfuzz {rapidfuzz.__version__}, workers=1, fastest of {REPEATS} runs of {CALLS_PER_RUN} calls")
    failures = 0
    rows = []
    for s in ["folded", "accented", "long"]:
        a = (d / f"{s}_a.txt").read_text().splitlines()
        b = (d / f"{s}_b.txt").read_text().splitlines()
        for metric, scorer, dtype in [
            ("jaro_winkler", JaroWinkler.normalized_similarity, np.float64),
            ("levenshtein", Levenshtein.distance, np.int32),
        ]:
            secs = cpu = float("inf")
            for _ in range(REPEATS):
                t, c = time.perf_counter(), time.thread_time()
                for _ in range(CALLS_PER_RUN):
                    m = cdist(a, b, scorer=scorer, workers=1, dtype=dtype)
                secs = min(secs, (time.perf_counter() - t) / CALLS_PER_RUN)
                cpu = min(cpu, (time.thread_time() - c) / CALLS_PER_RUN)
            flat = m.ravel()
            pairs, rust_secs, rust_cpu, rust_sum, rust_sample = read_rust(d / f"rust_{s}_{metric}.txt")
            ours = flat[::SAMPLE_STRIDE]
            if metric == "levenshtein":
                ok = pairs == flat.size and int(flat.sum(dtype=np.int64)) == int(rust_sum)
                ok = ok and all(int(x) == int(y) for x, y in zip(ours, rust_sample))
            else:
                total = float(flat.sum(dtype=np.float64))
                ok = pairs == flat.size and abs(total - rust_sum) <= 1e-9 * max(1.0, abs(total))
                ok = ok and all(abs(float(x) - float(y)) <= 1e-9 for x, y in zip(ours, rust_sample))
            ok = ok and len(rust_sample) == len(ours)
            failures += not ok
            rates = (pairs / rust_secs, flat.size / secs, pairs / rust_cpu, flat.size / cpu)
            rows.append((s, metric, rates, ok))
            print(
                f"rapidfuzz {s:9} {metric:13} wall {rates[1] / 1e6:7.1f} M pairs/s  "
                f"cpu {rates[3] / 1e6:7.1f} M pairs/s  answers agree: {'yes' if ok else 'NO'}"
            )
    print()
    print("M pairs/s, one core; wall = fastest wall-clock run, cpu = fastest by thread CPU time")
    print(
        f"{'set':9} {'metric':13} {'khop wall':>9} {'rf wall':>8} {'ratio':>6}"
        f" {'khop cpu':>9} {'rf cpu':>8} {'ratio':>6}"
    )
    for s, metric, (kw, rw, kc, rc), ok in rows:
        print(
            f"{s:9} {metric:13} {kw / 1e6:9.1f} {rw / 1e6:8.1f} {kw / rw:6.2f}"
            f" {kc / 1e6:9.1f} {rc / 1e6:8.1f} {kc / rc:6.2f}{'' if ok else '  ANSWERS DIFFER'}"
        )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
