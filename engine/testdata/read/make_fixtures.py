#!/usr/bin/env python3
"""Regenerates the binary fixtures of the read corpus (UTF-16, Windows-1258, invalid UTF-8, Parquet).

Text fixtures are written by hand; this script writes the ones an editor cannot. Every value is
synthetic. One fixture is not written here: good/page_checksums.parquet, a file whose pages carry
CRC-32 checksums (two columns of generated integers), is datapage_v1-uncompressed-checksum.parquet
of the Apache parquet-testing repository (Apache-2.0). Run it from this folder with pyarrow installed:
    python3 -m venv /tmp/fx && /tmp/fx/bin/pip install pyarrow && /tmp/fx/bin/python make_fixtures.py
"""
import pyarrow as pa
import pyarrow.parquet as pq

ROWS = [
    ("1", "Nguyễn Văn An", "05/03/1990", "001090012345"),
    ("2", "Trần Thị Bình", "1985", "079185000123"),
    ("3", "Lê Hoàng Phúc", "2001-12-31", "048201999888"),
]
HEADER = "id,ho_ten,ngay_sinh,so_cccd"


def text(rows=ROWS):
    return HEADER + "\r\n" + "".join(",".join(r) + "\r\n" for r in rows)


# Excel's "Unicode text" export: UTF-16 little-endian with a byte-order mark.
with open("good/excel_utf16le.csv", "wb") as f:
    f.write(b"\xff\xfe" + text().encode("utf-16-le"))
with open("good/utf16be_bom.csv", "wb") as f:
    f.write(b"\xfe\xff" + text().encode("utf-16-be"))
# UTF-8 with a byte-order mark, as Excel writes "CSV UTF-8".
with open("good/utf8_bom.csv", "wb") as f:
    f.write(b"\xef\xbb\xbf" + text().encode("utf-8"))

# Windows-1258 keeps tone marks as combining characters; Python's cp1258 codec encodes the
# decomposed form.
import unicodedata

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def tones_apart(s):
    """Vowel marks composed (â, ơ...), tone marks as combining characters, as Windows-1258 has them."""
    out = []
    for c in s:
        parts = unicodedata.normalize("NFD", c)
        tones = "".join(p for p in parts if p in TONES)
        base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in TONES))
        out.append(base + tones)
    return "".join(out)


with open("good/windows1258.csv", "wb") as f:
    f.write(tones_apart(text()).encode("cp1258"))

# A UTF-8 file with one row in Latin-1 bytes: that row, and only it, must be rejected.
with open("bad/invalid_utf8.csv", "wb") as f:
    f.write((HEADER + "\n1,Nguyễn Văn An,05/03/1990,001090012345\n").encode())
    f.write(b"2,Tr\xe2n Th\xec B\xecnh,1985,079185000123\n")
    f.write("3,Lê Hoàng Phúc,2001-12-31,048201999888\n".encode())
with open("bad/invalid_utf8.ndjson", "wb") as f:
    f.write('{"id":"1","ho_ten":"Nguyễn Văn An"}\n'.encode())
    f.write(b'{"id":"2","ho_ten":"Tr\xe2n Th\xec B\xecnh"}\n')
    f.write('{"id":"3","ho_ten":"Lê Hoàng Phúc"}\n'.encode())

ids = pa.array([r[0] for r in ROWS])
names = [r[1] for r in ROWS]
pq.write_table(
    pa.table({
        "id": ids,
        "ho_ten": pa.array(names, pa.string()),
        "ho_ten_large": pa.array(names, pa.large_string()),
        "ho_ten_view": pa.array(names, pa.string_view()),
        "nam_sinh": pa.array([1990, 1985, 2001], pa.int64()),
        "ngay_sinh": pa.array([7368, 5479, 11687], pa.date32()),
        "gioi_tinh": pa.array(["Nam", "Nữ", "Nam"]).dictionary_encode(),
    }),
    "good/types.parquet",
)
pq.write_table(
    pa.table({
        "id": pa.array(["1", "2", "3", None]),
        "ho_ten_raw": pa.array([b"Nguy\xe1\xbb\x85n V\xc4\x83n An", b"Tr\xe2n Th\xec", b"L\xc3\xaa", b"x"], pa.binary()),
    }),
    "bad/binary_invalid_utf8.parquet",
)
pq.write_table(
    pa.table({"id": pa.array(["1"]), "con_cai": pa.array([["An", "Bình"]], pa.list_(pa.string()))}),
    "bad/nested.parquet",
)
with open("good/types.parquet", "rb") as f:
    data = f.read()
with open("bad/truncated.parquet", "wb") as f:
    f.write(data[: len(data) // 2])
