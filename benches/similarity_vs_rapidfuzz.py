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


def read_rust(path):
    lines = path.read_text().splitlines()
    head = dict(line.split(" ", 1) for line in lines[:3])
    return int(head["pairs"]), float(head["seconds"]), float(head["sum"]), lines[3:]


def main():
    d = Path(sys.argv[1])
    print(f"rapidfuzz {rapidfuzz.__version__}, workers=1, fastest of {REPEATS} runs")
    failures = 0
    rows = []
    for s in ["folded", "accented", "long"]:
        a = (d / f"{s}_a.txt").read_text().splitlines()
        b = (d / f"{s}_b.txt").read_text().splitlines()
        for metric, scorer, dtype in [
            ("jaro_winkler", JaroWinkler.normalized_similarity, np.float64),
            ("levenshtein", Levenshtein.distance, np.int32),
        ]:
            secs = float("inf")
            for _ in range(REPEATS):
                t = time.perf_counter()
                m = cdist(a, b, scorer=scorer, workers=1, dtype=dtype)
                secs = min(secs, time.perf_counter() - t)
            flat = m.ravel()
            pairs, rust_secs, rust_sum, rust_sample = read_rust(d / f"rust_{s}_{metric}.txt")
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
            rf_rate = flat.size / secs
            rust_rate = pairs / rust_secs
            rows.append((s, metric, rust_rate, rf_rate, ok))
            print(
                f"rapidfuzz {s:9} {metric:13} {rf_rate / 1e6:8.1f} M pairs/s ({secs:.4f} s)  "
                f"answers agree: {'yes' if ok else 'NO'}"
            )
    print()
    print(f"{'set':9} {'metric':13} {'khop M/s':>9} {'rapidfuzz M/s':>14} {'ratio':>6}")
    for s, metric, rust_rate, rf_rate, ok in rows:
        print(
            f"{s:9} {metric:13} {rust_rate / 1e6:9.1f} {rf_rate / 1e6:14.1f} "
            f"{rust_rate / rf_rate:6.2f}{'' if ok else '  ANSWERS DIFFER'}"
        )
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
