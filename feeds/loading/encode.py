"""Arrow tables -> COPY data. Binary (pgpq) when every column has a binary encoder, else CSV.

Binary COPY is cheaper for Postgres to ingest (no text parsing of numbers and timestamps) and
cheaper to produce (pgpq encodes ~1 M rows/s of Heap pageviews; Arrow's CSV writer is 2x slower,
and 10x slower for zoned timestamps). The column types must be the table's exactly: the
converter gives each column its field's Arrow type, and cast() below makes sure of it.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from .convert import TS_NAIVE

CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, batch_size=8192)


def binary_supported(t: pa.DataType) -> bool:
    return (
        t in (pa.int64(), pa.float64(), pa.bool_(), pa.date32(), pa.string(), pa.large_string())
        or (pa.types.is_timestamp(t) and t.unit == "us")
        or pa.types.is_decimal128(t)
    )


class CopyEncoder:
    """Encodes tables of a fixed schema for ``COPY ... FROM STDIN`` in the chosen format."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.binary = all(binary_supported(f.type) for f in schema)
        self._encoder = None
        if self.binary:
            import pgpq  # imported late: only loads need it

            self._encoder = pgpq.ArrowToPostgresBinaryEncoder(schema)

    def options(self) -> sql.Composable:
        return sql.SQL("(FORMAT binary)" if self.binary else "(FORMAT csv)")

    def header(self) -> bytes:
        return self._encoder.write_header() if self._encoder is not None else b""

    def encode(self, table: pa.Table) -> bytes | memoryview:
        table = table.cast(self.schema) if table.schema != self.schema else table
        if self._encoder is not None:
            return b"".join(self._encoder.write_batch(b) for b in table.to_batches())
        # CSV: timestamps go out naive (UTC wall time; the session's TimeZone is UTC): Arrow
        # formats zoned timestamps many times slower.
        sink = pa.BufferOutputStream()
        for batch in table.to_batches():
            columns = [
                c.view(TS_NAIVE) if pa.types.is_timestamp(c.type) and c.type.tz else c
                for c in batch.columns
            ]
            pa_csv.write_csv(
                pa.RecordBatch.from_arrays(columns, names=batch.schema.names), sink, CSV_OPTIONS
            )
        return memoryview(sink.getvalue())

    def trailer(self) -> bytes:
        return self._encoder.finish() if self._encoder is not None else b""
