"""Type stubs of khop's native module (the functions and classes ``khop`` re-exports)."""

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Protocol, final

__all__ = [
    "__version__",
    "ROLES",
    "KhopError",
    "InputError",
    "UnknownColumnError",
    "ColumnTypeError",
    "TooManyRejectedError",
    "ConfigError",
    "ModelError",
    "IndexLockedError",
    "CapacityError",
    "InternalError",
    "ArrowTable",
    "Table",
    "Model",
    "LinkResult",
    "DedupeResult",
    "ReconcileResult",
    "SourcesResult",
    "Index",
    "read",
    "profile",
    "link",
    "link_sources",
    "link_thresholds",
    "dedupe",
    "dedupe_share",
    "dedupe_from_links",
    "reconcile",
    "explain",
    "train",
    "normalize_name",
    "parse_date",
    "decode_id",
    "parse_address",
    "generate_population",
]

__version__: str
ROLES: list[str]

class _ArrowStreamExportable(Protocol):
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...

_StrPath = str | PathLike[str]
_Data = _StrPath | _ArrowStreamExportable
_Progress = Callable[[str, int, int | None], object]

class KhopError(Exception):
    kind: str

class InputError(KhopError): ...
class UnknownColumnError(InputError): ...
class ColumnTypeError(InputError): ...
class TooManyRejectedError(InputError): ...
class ConfigError(KhopError): ...
class ModelError(KhopError): ...
class IndexLockedError(KhopError): ...
class CapacityError(KhopError): ...
class InternalError(KhopError): ...

@final
class ArrowTable:
    """Record batches in Arrow's layout; pyarrow, polars, pandas and DuckDB take them without a copy."""

    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object: ...
    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def to_pyarrow(self) -> Any: ...
    def to_pandas(self) -> Any: ...
    def to_polars(self) -> Any: ...

@final
class Table:
    """A table read and prepared once; pass it to the jobs as often as needed."""

    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> dict[str, str]: ...
    @property
    def id_column(self) -> str | None: ...
    @property
    def rejects(self) -> list[dict[str, Any]]: ...
    def summary(self) -> dict[str, Any]: ...
    def __len__(self) -> int: ...

@final
class Model:
    """A Fellegi-Sunter model trained without labels."""

    @staticmethod
    def load(path: _StrPath) -> Model: ...
    @staticmethod
    def from_json(text: str) -> Model: ...
    def to_json(self) -> str: ...
    def save(self, path: _StrPath) -> None: ...
    def links_template(self) -> ArrowTable: ...

@final
class LinkResult:
    @property
    def links(self) -> ArrowTable: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def model(self) -> Model: ...
    def write(self, path: _StrPath) -> int: ...
    def report(self, *, samples: int = 8) -> str: ...
    def review(
        self, *, labels: Sequence[_StrPath] = ..., pairs: int = 500, page: bool = False
    ) -> ArrowTable | str: ...

@final
class DedupeResult:
    @property
    def clusters(self) -> ArrowTable: ...
    @property
    def pairs(self) -> ArrowTable: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    @property
    def model(self) -> Model: ...
    def report(self, *, samples: int = 8) -> str: ...

@final
class ReconcileResult:
    @property
    def worklist(self) -> ArrowTable: ...
    @property
    def unmatched(self) -> ArrowTable: ...
    @property
    def links(self) -> ArrowTable: ...
    @property
    def summary(self) -> dict[str, Any]: ...
    def report(self, *, samples: int = 8) -> str: ...

@final
class SourcesResult:
    @property
    def runs(self) -> dict[str, LinkResult]: ...
    @property
    def persons(self) -> ArrowTable: ...
    @property
    def conflicts(self) -> ArrowTable: ...
    @property
    def summary(self) -> dict[str, Any]: ...

@final
class Index:
    """A persistent national index folder, open."""

    @staticmethod
    def open(path: _StrPath) -> Index: ...
    @staticmethod
    def build(table: Table, path: _StrPath, *, model: Model | None = None) -> Index: ...
    def lookup(
        self,
        records: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        top: int = 3,
        fuzzy: bool = True,
        model: Model | None = None,
    ) -> Any: ...
    def update(self, upserts: _Data | None = None, deletes: Sequence[str] | None = None) -> dict[str, Any]: ...
    def reload(self) -> bool: ...
    @property
    def path(self) -> str: ...
    @property
    def generation(self) -> int: ...
    def __len__(self) -> int: ...

def read(
    data: _Data,
    *,
    name: str | None = None,
    roles: Mapping[str, str] | None = None,
    id: str | None = None,
    null_values: Sequence[str] | None = None,
    max_rejected_share: float | None = None,
    progress: _Progress | None = None,
) -> Table: ...
def profile(
    data: _Data,
    *,
    name: str | None = None,
    null_values: Sequence[str] | None = None,
    progress: _Progress | None = None,
) -> dict[str, Any]: ...
def link(
    sector: _Data | Table,
    national: _Data | Table | Index,
    *,
    model: Model | None = None,
    config: _StrPath | None = None,
    match_threshold: float | None = None,
    review_threshold: float | None = None,
    one_to_one: bool | None = None,
    clear_margin: float | bool | None = None,
    progress: _Progress | None = None,
) -> LinkResult: ...
def link_thresholds(
    *,
    config: _StrPath | None = None,
    match_threshold: float | None = None,
    review_threshold: float | None = None,
    one_to_one: bool | None = None,
    clear_margin: float | bool | None = None,
) -> dict[str, Any]: ...
def link_sources(
    sources: Mapping[str, _Data | Table] | Sequence[_Data | Table],
    national: _Data | Table | Index,
    *,
    shared_model: bool = False,
    model: Model | None = None,
    config: _StrPath | None = None,
    match_threshold: float | None = None,
    review_threshold: float | None = None,
    progress: _Progress | None = None,
) -> SourcesResult: ...
def dedupe(
    table: _Data | Table,
    *,
    model: Model | None = None,
    config: _StrPath | None = None,
    threshold: float | None = None,
    min_link_density: float | None = None,
    progress: _Progress | None = None,
) -> DedupeResult: ...
def dedupe_share(
    table: _Data | Table,
    model: Model,
    *,
    share: tuple[int, int],
    config: _StrPath | None = None,
    threshold: float | None = None,
    min_link_density: float | None = None,
    progress: _Progress | None = None,
) -> tuple[ArrowTable, int]: ...
def dedupe_from_links(
    table: _Data | Table,
    links: _ArrowStreamExportable,
    *,
    model: Model,
    config: _StrPath | None = None,
    threshold: float | None = None,
    min_link_density: float | None = None,
    progress: _Progress | None = None,
) -> DedupeResult: ...
def reconcile(
    sector: _Data | Table,
    national: _Data | Table | Index,
    *,
    model: Model | None = None,
    config: _StrPath | None = None,
    match_threshold: float | None = None,
    review_threshold: float | None = None,
    progress: _Progress | None = None,
) -> ReconcileResult: ...
def explain(
    sector: _Data | Table,
    national: _Data | Table | Index,
    sector_id: str,
    national_id: str,
    *,
    model: Model | None = None,
    config: _StrPath | None = None,
) -> dict[str, Any]: ...
def train(
    sector: _Data | Table,
    national: _Data | Table | Index | None = None,
    *,
    config: _StrPath | None = None,
    labels: Sequence[_StrPath] = ...,
    label_strength: float | None = None,
    progress: _Progress | None = None,
) -> tuple[Model, dict[str, Any]]: ...
def normalize_name(name: str) -> dict[str, Any]: ...
def parse_date(value: str, *, order: str = "day_first") -> dict[str, Any]: ...
def decode_id(value: str) -> dict[str, Any]: ...
def parse_address(address: str) -> dict[str, Any]: ...
def generate_population(
    path: _StrPath,
    *,
    persons: int = 10000,
    seed: int = 42,
    profile: str = "default",
    format: str = "parquet",
) -> dict[str, Any]: ...
