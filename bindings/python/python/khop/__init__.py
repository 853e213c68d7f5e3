"""khop: match and deduplicate Vietnamese identity records.

Read a table once (``khop.read``), or pass a file path or any Arrow object (a pyarrow Table, a
polars or pandas DataFrame, a DuckDB relation) straight to a job:

>>> import khop
>>> run = khop.link("bhxh.parquet", "national.parquet")          # doctest: +SKIP
>>> run.summary["decisions"]                                      # doctest: +SKIP
>>> links = run.links.to_pandas()                                 # doctest: +SKIP

Jobs: ``link``, ``link_sources`` (several sector tables in one run), ``dedupe`` (and
``dedupe_share``, ``dedupe_from_links`` to split one between processes), ``reconcile``,
``explain``, ``train``, ``profile``; the persistent national index: ``Index``; in Spark tasks:
``khop.spark``; one value at a time: ``normalize_name``, ``parse_date``, ``decode_id``,
``parse_address``; a synthetic population to try it on: ``generate_population``.

Results hold Arrow tables (``ArrowTable``) that pyarrow, polars, pandas and DuckDB take without a
copy (``pyarrow.table(t)``, ``polars.DataFrame(t)``, or ``t.to_pandas()``). Every error is a
``KhopError`` whose message names the file, row and column; its ``kind`` names the kind. Jobs
run without holding the GIL; Ctrl-C interrupts the wait with ``KeyboardInterrupt``.
"""

from ._khop import (
    ROLES,
    ArrowTable,
    CapacityError,
    ColumnTypeError,
    ConfigError,
    DedupeResult,
    Index,
    IndexLockedError,
    InputError,
    InternalError,
    KhopError,
    LinkResult,
    Model,
    ModelError,
    ReconcileResult,
    SourcesResult,
    Table,
    TooManyRejectedError,
    UnknownColumnError,
    __version__,
    decode_id,
    dedupe,
    dedupe_from_links,
    dedupe_share,
    explain,
    generate_population,
    link,
    link_sources,
    link_thresholds,
    normalize_name,
    parse_address,
    parse_date,
    profile,
    read,
    reconcile,
    train,
)

__all__ = [
    "ROLES",
    "ArrowTable",
    "CapacityError",
    "ColumnTypeError",
    "ConfigError",
    "DedupeResult",
    "Index",
    "IndexLockedError",
    "InputError",
    "InternalError",
    "KhopError",
    "LinkResult",
    "Model",
    "ModelError",
    "ReconcileResult",
    "SourcesResult",
    "Table",
    "TooManyRejectedError",
    "UnknownColumnError",
    "__version__",
    "decode_id",
    "dedupe",
    "dedupe_from_links",
    "dedupe_share",
    "explain",
    "generate_population",
    "link",
    "link_sources",
    "link_thresholds",
    "normalize_name",
    "parse_address",
    "parse_date",
    "profile",
    "read",
    "reconcile",
    "train",
]
