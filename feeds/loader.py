"""The loading engine's public API; the implementation lives in feeds.loading."""

from feeds.loading import (
    FIELD_TYPES,
    PK_SEPARATOR,
    FieldSpec,
    LoadRejected,
    LoadResult,
    LoadStopped,
    Reject,
    SourceFile,
    SpecError,
    TableSpec,
    drop_table,
    ensure_table,
    load,
    table_exists,
    truncate_table,
)

__all__ = [
    "FIELD_TYPES",
    "PK_SEPARATOR",
    "FieldSpec",
    "LoadRejected",
    "LoadResult",
    "LoadStopped",
    "Reject",
    "SourceFile",
    "SpecError",
    "TableSpec",
    "drop_table",
    "ensure_table",
    "load",
    "table_exists",
    "truncate_table",
]
