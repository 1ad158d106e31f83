"""The loading engine: the only code that writes SQL for domain tables.

Modules, in the order a load runs through them:
  spec.py      what to load: TableSpec / FieldSpec, SourceFile, results and errors
  ddl.py       create / evolve / drop / truncate the domain table
  prefetch.py  read and decode the next batch on a second thread while this one is sent
  convert.py   Arrow columns -> field types, in bulk, finding bad rows (rejects)
  keys.py      the "_pk" column computed in Arrow (compound keys concatenated)
  encode.py    batches as binary COPY (pgpq) or CSV
  merge.py     load(): staging, de-duplication, INSERT ... ON CONFLICT, one transaction
  swap.py      truncate-and-load: a fresh table, keyed at the end, swapped in atomically
  rebuild.py   a large upsert: the merged table written anew and swapped in
  identity.py  Heap's identity tables, rebuilt after a Heap run
See docs/decisions/0001-load-path.md for why.

Takes a psycopg 3 connection and pyarrow RecordBatches; knows nothing of Django, S3 or Celery.
"""

from .ddl import drop_table, ensure_table, table_exists, truncate_table
from .merge import load
from .spec import (
    FIELD_TYPES,
    PK_SEPARATOR,
    FieldSpec,
    FileRefused,
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
    "FileRefused",
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
