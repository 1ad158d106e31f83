"""Demo data for the product's demo, the tests and the benchmarks: never imported by the product.

``heap_export`` generates a realistic Heap Connect for S3 export and the ground truth it implies;
``s3_writer`` writes it to a bucket. The management commands ``seed_demo`` and
``generate_heap_demo`` live here too.
"""

from .heap_export import (
    ALL_TABLES,
    DATED_TABLES,
    NEW_USER_PROPERTY,
    TABLE_KEYS,
    HeapExportSpec,
    avro_schema,
    event_id,
    expected_counts,
    expected_tables,
    iter_dump_rows,
    session_id,
    table_columns,
    user_id,
)
from .s3_writer import (
    DumpSummary,
    ExportSummary,
    TableSummary,
    dated_key,
    dated_spec,
    ensure_bucket,
    make_s3_client,
    write_dated_export,
    write_heap_export,
)

__all__ = [
    "ALL_TABLES",
    "DATED_TABLES",
    "NEW_USER_PROPERTY",
    "TABLE_KEYS",
    "DumpSummary",
    "ExportSummary",
    "HeapExportSpec",
    "TableSummary",
    "avro_schema",
    "dated_key",
    "dated_spec",
    "ensure_bucket",
    "event_id",
    "expected_counts",
    "expected_tables",
    "iter_dump_rows",
    "make_s3_client",
    "session_id",
    "table_columns",
    "user_id",
    "write_dated_export",
    "write_heap_export",
]
