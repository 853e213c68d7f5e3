"""The normalizers for one value, as the pipeline applies them to every field."""

import khop


def test_names():
    name = khop.normalize_name("  NGUYỄN   văn  AN ")
    assert (name["family"], name["middle"], name["given"]) == ("nguyễn", "văn", "an")
    assert name["folded_full"] == "nguyen van an"
    # Typed without accents, the folded form is the same.
    assert khop.normalize_name("Nguyen Van An")["folded_full"] == "nguyen van an"


def test_dates():
    assert khop.parse_date("05/03/1990") | {"flags": None} == {"year": 1990, "month": 3, "day": 5, "valid": True, "flags": None}
    assert khop.parse_date("03/05/1990", order="month_first")["day"] == 5
    assert khop.parse_date("1990")["month"] is None
    unreadable = khop.parse_date("không rõ")
    assert unreadable["year"] is None and unreadable["valid"] is False


def test_ids():
    cccd = khop.decode_id("001 090 012 345")
    assert (cccd["digits"], cccd["shape"]) == ("001090012345", "cccd")
    assert cccd["cccd"] == {
        "province_code": 1,
        "province_name": "Hà Nội",
        "abroad": False,
        "century_sex_digit": 0,
        "sex": "male",
        "birth_year": 1990,
    }
    assert khop.decode_id("012345678")["shape"] == "cmnd"
    assert khop.decode_id("012345678")["cccd"] is None
    assert khop.decode_id("")["shape"] == "empty"


def test_addresses_across_the_2025_reorganisation():
    parsed = khop.parse_address("123 Nguyễn Trãi, phường 2, quận 5, TP Hồ Chí Minh")
    assert (parsed["house"], parsed["street"], parsed["ward"]) == ("123", "Nguyễn Trãi", "phường 2")
    assert parsed["old"]["district"] == "Quận 5"
    assert parsed["old"]["province_code"] == "79"
    # The ward of the old address, in the units since 1 July 2025 (no districts).
    assert [unit["province_code"] for unit in parsed["new"]] == ["79"]
    assert parsed["new"][0]["ward"].startswith("Phường")


def test_profile_of_a_file_and_of_its_arrow_data(population):
    import pyarrow.parquet as pq

    path = population / "bhyt.parquet"
    of_file = khop.profile(path)
    of_arrow = khop.profile(pq.read_table(path), name="bhyt")
    assert of_file["rows_read"] == of_arrow["rows_read"] == pq.read_metadata(path).num_rows
    assert of_file["columns"] == of_arrow["columns"]
    roles = {c["name"]: c["role"] for c in of_file["columns"]}
    assert roles["HO_TEN"] == "full_name"
