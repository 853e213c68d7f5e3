#!/usr/bin/env python3
"""Writes the files of an index update benchmark from a generated national CSV.

    python3 benches/make_index_changes.py g/national.csv START COUNT g/changes.csv g/gone.txt

From the national rows START .. START + 3*COUNT: the first COUNT rows as they are (upserts that
replace a record), the next COUNT under new ids (`MOI` + id: upserts of new records) into
changes.csv, and the ids of the last COUNT into gone.txt (deletes). The sector records of other
rows keep their answers, so lookup accuracy after the update is comparable with before.
"""
import csv
import sys


def main() -> None:
    national, start, count, changes, gone = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    with open(national, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = []
        for i, row in enumerate(reader):
            if i >= start + 3 * count:
                break
            if i >= start:
                rows.append(row)
    if len(rows) < 3 * count:
        sys.exit(f"{national}: fewer than {start + 3 * count} rows")
    id_column = header.index("ma_cong_dan")
    with open(changes, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows[:count])
        for row in rows[count : 2 * count]:
            row = list(row)
            row[id_column] = "MOI" + row[id_column]
            writer.writerow(row)
    with open(gone, "w", encoding="utf-8") as f:
        f.writelines(row[id_column] + "\n" for row in rows[2 * count :])


if __name__ == "__main__":
    main()
