"""A first session with khop, as one would type it into a notebook: generate a synthetic
population (no real person in it), link a sector table to the national table, look at the
matches the model was least sure of, and at the correction worklist, in pandas.

Run it with `python bindings/python/examples/link_population.py [FOLDER]` (default: a temporary
folder); it needs pandas and pyarrow besides khop.
"""

import sys
import tempfile
from pathlib import Path

import pandas as pd

import khop


def main(folder: Path) -> None:
    # 1. A population of 5,000 persons: the national table, sector tables and the true links.
    written = khop.generate_population(folder, persons=5000, seed=1)
    print("tables written:", written["rows"])

    # 2. Read each table once: roles (name, date of birth, ID, address...) are detected.
    national = khop.read(folder / "national.parquet")
    sector = khop.read(folder / "bhxh.parquet")
    print(national)
    print("roles of", sector.name, "->", sector.roles)

    # 3. Link: a model is trained without labels, then every sector record gets its decision.
    run = khop.link(sector, national)
    print("decisions:", run.summary["decisions"])
    links = run.links.to_pandas()

    # 4. The matches the model was least sure of, and what each comparison said.
    matches = links[links["decision"] == "match"].sort_values("match_probability")
    columns = ["left_id", "right_id", "match_probability", "level_name", "level_date_of_birth", "level_address"]
    print("\nleast certain matches:")
    print(matches[columns].head(5).to_string(index=False))

    # 5. How well it did: the generator wrote the true links (sector row id, national row id).
    truth = pd.read_csv(folder / "links_bhxh.csv", dtype=str)
    found = matches.merge(truth, left_on=["left_id", "right_id"], right_on=["row_id", "national_row_id"])
    precision = len(found) / max(len(matches), 1)
    recall = len(found) / max(len(truth), 1)
    print(f"\nprecision {precision:.3f}, recall {recall:.3f} against the generator's truth")

    # 6. The correction worklist: for each match, the fields that disagree with the national record.
    worklist = khop.reconcile(sector, national, model=run.model).worklist.to_pandas()
    print(f"\n{len(worklist)} fields to correct; by field and kind of disagreement:")
    print(worklist.groupby(["field", "conflict"]).size().sort_values(ascending=False).head(8).to_string())
    print(worklist[["sector_id", "field", "conflict"]].head(5).to_string(index=False))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as folder:
            main(Path(folder))
