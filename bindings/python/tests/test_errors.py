"""Bad inputs are exceptions with clear messages (a `KhopError` subclass naming the table and
column), or rejected rows kept with the table; never a crash of the interpreter."""

import pyarrow as pa
import pytest

import khop


def people(**columns) -> pa.Table:
    return pa.table(columns)


def test_a_missing_column_names_the_column_and_the_table():
    table = people(ho_ten=["Nguyễn Văn An"], ngay_sinh=["01/02/1990"])
    with pytest.raises(khop.UnknownColumnError) as caught:
        khop.read(table, name="bhxh", roles={"ho_ten": "full_name", "so_cccd": "national_id"})
    message = str(caught.value)
    assert "so_cccd" in message and "bhxh" in message
    assert caught.value.kind == "unknown_column"
    assert isinstance(caught.value, khop.InputError) and isinstance(caught.value, khop.KhopError)


def test_a_column_of_a_type_khop_cannot_read_as_text():
    table = people(ho_ten=["Lê Thị Hoa"], tags=pa.array([[1, 2]], type=pa.list_(pa.int32())))
    with pytest.raises(khop.ColumnTypeError, match="tags"):
        khop.read(table, roles={"ho_ten": "full_name", "tags": "text"})


def test_rows_without_an_id_are_rejected_with_their_row():
    table = people(
        so_dinh_danh=["001090000001", None, "001090000003"],
        ho_ten=["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"],
        nam_sinh=pa.array([1990, 1985, None], type=pa.int64()),
    )
    read = khop.read(table, roles={"ho_ten": "full_name", "nam_sinh": "number"}, id="so_dinh_danh", max_rejected_share=1.0)
    assert len(read) == 2
    [reject] = read.rejects
    assert (reject["row"], reject["column"], reject["reason"]) == (2, "so_dinh_danh", "missing_id")
    summary = read.summary()
    assert (summary["rows_read"], summary["rows_rejected"]) == (3, 1)


def test_too_many_rejected_rows_stop_the_read():
    ids = [None] * 30 + ["001090000001"]
    table = people(so_dinh_danh=ids, ho_ten=["Nguyễn Văn An"] * 31)
    with pytest.raises(khop.TooManyRejectedError):
        khop.read(table, roles={"ho_ten": "full_name"}, id="so_dinh_danh")


def test_unknown_roles_and_arguments_are_config_errors():
    table = people(ho_ten=["Nguyễn Văn An"])
    with pytest.raises(khop.ConfigError, match="surname"):
        khop.read(table, roles={"ho_ten": "surname"})
    with pytest.raises(khop.ConfigError, match="needs `roles`"):
        khop.read(table, id="ho_ten")
    with pytest.raises(khop.ConfigError, match="threshold"):
        khop.link(table, table, match_threshold=0.2, review_threshold=0.8)
    with pytest.raises(khop.ConfigError, match="date order"):
        khop.parse_date("01/02/1990", order="sideways")


def test_files_that_are_missing_or_damaged(tmp_path):
    with pytest.raises(khop.InputError, match="absent.parquet"):
        khop.read(tmp_path / "absent.parquet")
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1 this is not parquet PAR1")
    with pytest.raises(khop.InputError, match="damaged.parquet"):
        khop.read(damaged)


def test_what_is_neither_a_path_nor_arrow_is_a_type_error():
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        khop.read(42)
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        khop.link([{"ho_ten": "An"}], "national.parquet")
