"""The loading engine: the only code that writes SQL for domain tables.

Modules, in the order a load runs through them:
  spec.py     what to load: TableSpec / FieldSpec, SourceFile, results and errors
  ddl.py      create / evolve / drop / truncate the domain table
  convert.py  Arrow columns -> field types, in bulk, finding bad rows (rejects)
  merge.py    load(): COPY into staging, de-duplicate, INSERT ... ON CONFLICT, one transaction

Takes a psycopg 3 connection and pyarrow RecordBatches; knows nothing of Django, S3 or Celery.
"""

from .ddl import drop_table, ensure_table, table_exists, truncate_table
from .merge import load
from .spec import (
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
