#!/usr/bin/env python3
"""Regenerate khop's administrative-unit reference tables.

Source: the MIT-licensed PyPI package `vietnamadminunits` (data/dataset.db and
data/converter_2025.json). The package is fetched with pip into a cache
directory; SQLite is read here only, never by the engine at run time.

Usage: python3 engine/data/admin/build.py [--cache DIR] [--wheel PATH]

Output, next to this script (UTF-8, tab-separated, one unit per line, lines
starting with '#' are comments):

legacy.tsv   units in force before 1 July 2025 (63 provinces, districts, wards).
             The code's width gives the level: 2 digits province, 3 district,
             5 ward; districts follow their province, wards their district.
               code  type  name  aliases  new
             type: province T (Tỉnh) / TP (Thành phố); district Q (Quận),
             H (Huyện), TX (Thị xã), TP (Thành phố); ward P (Phường), X (Xã),
             TT (Thị trấn).
             aliases: comma-separated folded keys of former names.
             new: for a province the code of the 2025 province it merged into;
             for a ward (or a district without wards, the islands) the 2025
             ward codes it became, space-separated, the source's default first
             (several codes = the commune was split).
current.tsv  units in force since 1 July 2025 (34 provinces, 3,321 wards, no
             districts): code type name aliases; ward type P, X or DK (Đặc khu).
"""

import argparse
import glob
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "vietnamadminunits==1.0.4"
HERE = os.path.dirname(os.path.abspath(__file__))

PROVINCE_TYPES = {"Tỉnh": "T", "Thành phố": "TP"}
DISTRICT_TYPES = {"Quận": "Q", "Huyện": "H", "Thị xã": "TX", "Thành phố": "TP"}
WARD_TYPES = {"Phường": "P", "Xã": "X", "Thị trấn": "TT", "Đặc khu": "DK"}
TYPE_KEYS = ["thanhpho", "thitran", "thixa", "dackhu", "phuong", "huyen", "quan", "tinh", "xa", "tt"]

# Common spellings the source lacks, as folded keys (lowercase, no accents,
# no spaces). Province codes are per scheme.
EXTRA_PROVINCE_ALIASES = {
    ("legacy", "79"): ["hcmc", "tphcm", "saigon", "hochiminhcity"],
    ("current", "79"): ["hcmc", "tphcm", "saigon", "hochiminhcity"],
    ("legacy", "01"): ["tphn"],
    ("current", "01"): ["tphn"],
    ("legacy", "46"): ["thuathienhue"],
    ("current", "46"): ["thuathienhue"],
    ("legacy", "77"): ["brvt"],
    ("legacy", "66"): ["daclac"],
    ("current", "66"): ["daclac"],
    ("legacy", "67"): ["dacnong"],
}


def fetch(cache, wheel):
    if wheel:
        return wheel
    os.makedirs(cache, exist_ok=True)
    found = glob.glob(os.path.join(cache, "vietnamadminunits-*.whl"))
    if not found:
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps",
                               "--only-binary=:all:", "-d", cache, PACKAGE])
        found = glob.glob(os.path.join(cache, "vietnamadminunits-*.whl"))
    return sorted(found)[-1]


def short(full, types):
    for t, code in types.items():
        if full.lower().startswith(t.lower() + " "):
            return code, full[len(t) + 1:]
    raise ValueError(f"unknown unit type in {full!r}")


NUMBER_PREFIXES = TYPE_KEYS + ["district", "ward", "q", "p", "f"]


def numbered(key):
    for prefix in NUMBER_PREFIXES:
        rest = key[len(prefix):]
        if key.startswith(prefix) and rest.isdigit():
            return str(int(rest))
    return key


def aliases(raw, own_key, extra=()):
    """Keep the short form of each alias: drop 'phuongX' when 'X' is also listed."""
    keys = json.loads(raw) if raw else []
    # "quan9", "q09", "phuong1": a marker glued to a number; keep the number
    # (the parser strips markers and leading zeros itself).
    keys = [numbered(k) for k in keys]
    keys = list(dict.fromkeys(keys))
    out = []
    for k in keys:
        if any(k == t + other for t in TYPE_KEYS for other in keys + [own_key] if other != k):
            continue
        if k != own_key and k not in out:
            out.append(k)
    for k in extra:
        if k != own_key and k not in out:
            out.append(k)
    return ",".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "khop-admin-cache"))
    ap.add_argument("--wheel")
    args = ap.parse_args()
    wheel = fetch(args.cache, args.wheel)
    with zipfile.ZipFile(wheel) as z, tempfile.TemporaryDirectory() as tmp:
        db_path = os.path.join(tmp, "dataset.db")
        with open(db_path, "wb") as f:
            f.write(z.read("vietnamadminunits/data/dataset.db"))
        conv = json.loads(z.read("vietnamadminunits/data/converter_2025.json"))
        version = os.path.basename(wheel).split("-")[1]
        db = sqlite3.connect(db_path)
        legacy = db.execute(
            "select provinceCode, province, provinceShortKey, provinceAlias, provinceKey,"
            " districtCode, district, districtShortKey, districtAlias, districtKey,"
            " wardCode, ward, wardShortKey, wardAlias, wardKey"
            " from admin_units_legacy order by provinceCode, districtCode, wardCode").fetchall()
        current = db.execute(
            "select provinceCode, province, provinceShortKey, provinceAlias, provinceKey,"
            " wardCode, ward, wardShortKey, wardAlias, wardKey"
            " from admin_units order by provinceCode, wardCode").fetchall()
        db.close()

    new_ward_code = {(r[4], r[9]): r[5] for r in current}
    new_prov_code = {r[4]: r[0] for r in current}
    # Old province key -> new province key.
    prov_map = {old: new for new, olds in conv["DICT_PROVINCE"].items() for old in olds}
    # Old "province_district_ward" key -> new ward codes, default first.
    ward_map = {}
    for np_, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for nw, olds in wards.items():
            for o in olds:
                ward_map.setdefault(o, []).append(new_ward_code[(np_, nw)])
    for np_, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for o, lst in olds.items():
            lst = sorted(lst, key=lambda x: not x["isDefaultNewWard"])
            ward_map.setdefault(o, []).extend(new_ward_code[(np_, x["newWardKey"])] for x in lst)

    header = (f"# Generated by engine/data/admin/build.py from vietnamadminunits {version}"
              " (MIT, see LICENSE-vietnamadminunits). Do not edit.\n")
    out = [header, "# code\ttype\tname\taliases\tnew\n"]
    seen_p, seen_d = set(), set()
    for (pc, pn, psk, pal, pk, dc, dn, dsk, dal, dk, wc, wn, wsk, wal, wk) in legacy:
        if pc not in seen_p:
            seen_p.add(pc)
            t, name = short(pn, PROVINCE_TYPES)
            al = aliases(pal, psk, EXTRA_PROVINCE_ALIASES.get(("legacy", pc), []))
            out.append(f"{pc}\t{t}\t{name}\t{al}\t{new_prov_code[prov_map[pk]]}\n")
        if dc not in seen_d:
            seen_d.add(dc)
            t, name = short(dn, DISTRICT_TYPES)
            new = " ".join(ward_map.get(f"{pk}_{dk}_", [])) if wc is None else ""
            out.append(f"{dc}\t{t}\t{name}\t{aliases(dal, dsk)}\t{new}\n")
        if wc is not None:
            t, name = short(wn, WARD_TYPES)
            new = " ".join(ward_map[f"{pk}_{dk}_{wk}"])
            out.append(f"{wc}\t{t}\t{name}\t{aliases(wal, wsk)}\t{new}\n")
    with open(os.path.join(HERE, "legacy.tsv"), "w", encoding="utf-8") as f:
        f.writelines(out)

    out = [header, "# code\ttype\tname\taliases\n"]
    seen_p = set()
    for (pc, pn, psk, pal, pk, wc, wn, wsk, wal, wk) in current:
        if pc not in seen_p:
            seen_p.add(pc)
            t, name = short(pn, PROVINCE_TYPES)
            al = aliases(pal, psk, EXTRA_PROVINCE_ALIASES.get(("current", pc), []))
            out.append(f"{pc}\t{t}\t{name}\t{al}\n")
        t, name = short(wn, WARD_TYPES)
        out.append(f"{wc}\t{t}\t{name}\t{aliases(wal, wsk)}\n")
    with open(os.path.join(HERE, "current.tsv"), "w", encoding="utf-8") as f:
        f.writelines(out)


if __name__ == "__main__":
    main()
