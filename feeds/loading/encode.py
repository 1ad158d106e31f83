"""Arrow tables -> COPY data. Binary (pgpq) when every column has a binary encoder, else CSV.

Binary COPY is cheaper for Postgres to ingest (no text parsing of numbers and timestamps) and
cheaper to produce (pgpq encodes ~1 M rows/s of Heap pageviews; Arrow's CSV writer is 2x slower,
and 10x slower for zoned timestamps). The column types must be the table's exactly: the
converter gives each column its field's Arrow type, and cast() below makes sure of it.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql

from .convert import TS_NAIVE
from .spec import PG_TYPE_KEY

CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, batch_size=8192)
_BINARY_TYPES = (
    pa.int64(), pa.float64(), pa.bool_(), pa.date32(), pa.string(), pa.large_string(),
    pa.binary(), pa.large_binary(), pa.time64("us"),
)  # fmt: skip


def binary_supported(t: pa.DataType) -> bool:
    return (
        t in _BINARY_TYPES
        or (pa.types.is_timestamp(t) and t.unit == "us")
        or pa.types.is_decimal128(t)
    )


def _pg_type(f: pa.Field) -> bytes | None:
    """The Postgres type a text column is bound for, when not text (FieldSpec.arrow_field)."""
    return f.metadata.get(PG_TYPE_KEY) if f.metadata else None


def is_jsonb(f: pa.Field) -> bool:
    return _pg_type(f) == b"jsonb"


def binary_field(f: pa.Field) -> bool:
    """Binary COPY can send this column: numeric text (unconstrained decimals) cannot go as
    binary (pgpq would send the text's bytes as a numeric), Postgres parses it from CSV."""
    return binary_supported(f.type) and _pg_type(f) != b"numeric"


def _binary_encoder(schema: pa.Schema) -> Any:  # pgpq ships no type stubs worth using
    import pgpq  # imported late: only loads need it
    from pgpq import encoders
    from pgpq import schema as pg

    jsonb = [f for f in schema if is_jsonb(f)]
    if not jsonb:
        return pgpq.ArrowToPostgresBinaryEncoder(schema)
    # jsonb's binary form is a version byte and the text: pgpq writes it for marked columns.
    builders = {f.name: pgpq.ArrowToPostgresBinaryEncoder.infer_encoder(f) for f in schema}
    for f in jsonb:
        if f.type == pa.large_string():
            builders[f.name] = encoders.LargeStringEncoderBuilder.new_with_output(f, pg.Jsonb())
        else:
            builders[f.name] = encoders.StringEncoderBuilder.new_with_output(f, pg.Jsonb())
    return pgpq.ArrowToPostgresBinaryEncoder.new_with_encoders(schema, builders)


def _csv_column(column: pa.Array) -> pa.Array:
    """A column as Arrow's CSV writer should print it for Postgres' CSV COPY."""
    if pa.types.is_timestamp(column.type) and column.type.tz:
        # Naive (UTC wall time; the session's TimeZone is UTC): Arrow formats zoned
        # timestamps many times slower.
        return column.view(TS_NAIVE)
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        # bytea's hex input form; Arrow would write the raw bytes.
        return pa.array([None if v is None else "\\x" + v.hex() for v in column.to_pylist()],
                        pa.string())  # fmt: skip
    return column


class CopyEncoder:
    """Encodes tables of a fixed schema for ``COPY ... FROM STDIN`` in the chosen format."""

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.binary = all(binary_field(f) for f in schema)
        self._encoder = _binary_encoder(schema) if self.binary else None

    def options(self) -> sql.Composable:
        return sql.SQL("(FORMAT binary)" if self.binary else "(FORMAT csv)")

    def header(self) -> bytes:
        return self._encoder.write_header() if self._encoder is not None else b""

    def encode(self, table: pa.Table) -> bytes | memoryview:
        table = table.cast(self.schema) if table.schema != self.schema else table
        if self._encoder is not None:
            return b"".join(self._encoder.write_batch(b) for b in table.to_batches())
        sink = pa.BufferOutputStream()
        for batch in table.to_batches():
            columns = [_csv_column(c) for c in batch.columns]
            pa_csv.write_csv(
                pa.RecordBatch.from_arrays(columns, names=batch.schema.names), sink, CSV_OPTIONS
            )
        return memoryview(sink.getvalue())

    def trailer(self) -> bytes:
        return self._encoder.finish() if self._encoder is not None else b""
