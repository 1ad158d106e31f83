"""Avro object-container files (codecs null, deflate, snappy) via fastavro.

fastavro decodes records (in C); each batch of dicts becomes one RecordBatch with the declared
schema, so 64-bit longs stay int64 and timestamp logical types become timestamp[us, UTC].
Nested records, arrays, maps and multi-type unions are rendered as compact JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import fastavro
import pyarrow as pa

from .base import Reader
from .errors import ReaderError
from .settings import FileSettings
from .streams import CountingStream, PrefixedStream, read_exactly

MAGIC = b"Obj\x01"
Fixup = Callable[[Any], Any]

_PRIMITIVES: dict[str, pa.DataType] = {
    "null": pa.null(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "bytes": pa.binary(),
    "string": pa.string(),
}
_LOGICAL: dict[str, pa.DataType] = {
    "timestamp-millis": pa.timestamp("us", tz="UTC"),
    "timestamp-micros": pa.timestamp("us", tz="UTC"),
    "local-timestamp-millis": pa.timestamp("us"),
    "local-timestamp-micros": pa.timestamp("us"),
    "date": pa.date32(),
    "time-millis": pa.time32("ms"),
    "time-micros": pa.time64("us"),
}


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


class _SchemaMapper:
    """Avro writer schema -> (arrow type, nullable, fixup for values arrow can't take as is)."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def field(self, avro: Any) -> tuple[pa.DataType, bool, Fixup | None]:
        if isinstance(avro, list):
            branches = [b for b in avro if b != "null"]
            nullable = len(branches) < len(avro)
            if len(branches) == 1:
                arrow_type, _, fixup = self.field(branches[0])
                return arrow_type, nullable, fixup
            for b in branches:  # register named types declared inside the union
                self.field(b)
            return pa.string(), True, _json_text
        if isinstance(avro, str):
            if avro in _PRIMITIVES:
                return _PRIMITIVES[avro], avro == "null", None
            if avro in self.named:
                return self.field(self.named[avro])
            return pa.string(), True, _json_text
        kind = avro.get("type")
        if "name" in avro and kind in ("record", "enum", "fixed"):
            self.named[avro["name"]] = avro
            if avro.get("namespace"):
                self.named[f"{avro['namespace']}.{avro['name']}"] = avro
        logical = avro.get("logicalType")
        if logical in _LOGICAL:
            return _LOGICAL[logical], False, None
        if logical == "decimal":
            precision, scale = int(avro.get("precision", 38)), int(avro.get("scale", 0))
            factory = pa.decimal128 if precision <= 38 else pa.decimal256
            return factory(precision, scale), False, None
        if logical == "uuid":
            return pa.string(), False, _str_or_none
        if kind == "enum":
            return pa.string(), False, None
        if kind == "fixed":
            return pa.binary(int(avro["size"])), False, None
        if kind in ("record", "array", "map"):
            for sub in _children(avro):
                self.field(sub)
            return pa.string(), False, _json_text
        if isinstance(kind, str | list | dict):
            return self.field(kind)
        return pa.string(), True, _json_text


def _children(avro: dict[str, Any]) -> list[Any]:
    if avro["type"] == "record":
        return [f["type"] for f in avro.get("fields", [])]
    return [avro.get("items") if avro["type"] == "array" else avro.get("values")]


def arrow_schema(writer_schema: Any) -> tuple[pa.Schema, dict[str, Fixup]]:
    """The arrow schema for an Avro writer schema, plus per-column value fixups."""
    mapper = _SchemaMapper()
    if isinstance(writer_schema, dict) and writer_schema.get("type") == "record":
        mapper.named[writer_schema.get("name", "")] = writer_schema
        avro_fields = [(f["name"], f["type"]) for f in writer_schema.get("fields", [])]
    else:  # a file of bare values: one column
        avro_fields = [("value", writer_schema)]
    arrow_fields, fixups = [], {}
    for name, avro_type in avro_fields:
        arrow_type, nullable, fixup = mapper.field(avro_type)
        arrow_fields.append(pa.field(name, arrow_type, nullable=nullable))
        if fixup is not None:
            fixups[name] = fixup
    return pa.schema(arrow_fields), fixups


def check_magic(head: bytes, name: str) -> None:
    if head != MAGIC:
        hint = ""
        if head[:2] == b"\x1f\x8b":
            hint = " (it starts like gzip data: set compression to gzip)"
        elif head == b"PAR1":
            hint = " (it looks like Parquet)"
        raise ReaderError.at(
            name,
            "byte 0",
            f'not an Avro file (no "Obj" header){hint} — is the content type right?',
        )


def open_avro(stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int) -> Reader:
    counter = CountingStream(stream)
    head = read_exactly(counter, 4)  # type: ignore[arg-type]
    check_magic(head, name)
    source = PrefixedStream(head, counter)  # type: ignore[arg-type]
    try:
        avro_reader = fastavro.reader(source)
    except ReaderError:
        raise
    except Exception as e:
        raise ReaderError.at(
            name, f"byte {counter.count}", f"cannot read the Avro header ({type(e).__name__}: {e})"
        ) from e
    schema, fixups = arrow_schema(avro_reader.writer_schema)
    is_record = (
        isinstance(avro_reader.writer_schema, dict) and "fields" in avro_reader.writer_schema
    )
    codec = avro_reader.metadata.get("avro.codec", "null")

    def batches() -> Iterator[pa.RecordBatch]:
        rows: list[Any] = []
        number = 0
        records = iter(avro_reader)
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except ReaderError:
                raise
            except Exception as e:
                raise ReaderError.at(
                    name,
                    f"record {number + 1} (byte {counter.count})",
                    f"corrupt or truncated Avro data block, codec {codec} "
                    f"({type(e).__name__}: {e})",
                ) from e
            number += 1
            rows.append(record if is_record else {"value": record})
            if len(rows) >= batch_rows:
                yield _to_batch(rows, schema, fixups, name, number)
                rows = []
        if rows:
            yield _to_batch(rows, schema, fixups, name, number)

    return Reader(schema, batches(), batch_rows=batch_rows)


def _to_batch(
    rows: list[dict[str, Any]], schema: pa.Schema, fixups: dict[str, Fixup], name: str, last: int
) -> pa.RecordBatch:
    # Column by column: ~10x faster than RecordBatch.from_pylist on dicts.
    try:
        columns = []
        for field in schema:
            values = [row[field.name] for row in rows]
            fixup = fixups.get(field.name)
            if fixup is not None:
                values = [fixup(v) for v in values]
            columns.append(pa.array(values, type=field.type))
        return pa.RecordBatch.from_arrays(columns, schema=schema)
    except (pa.ArrowException, KeyError, TypeError, ValueError, OverflowError) as e:
        first = last - len(rows) + 1
        raise ReaderError.at(
            name, f"records {first}-{last}", f"values do not match the Avro schema ({e})"
        ) from e
