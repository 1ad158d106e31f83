"""preview: the first rows and raw text of a file, reading only the beginning of the stream."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, BinaryIO

import pyarrow as pa

from .formats import _open_decompressed
from .settings import AVRO, PARQUET, FileSettings
from .streams import decompressed, peek

PREVIEW_BLOCK = 1024 * 1024


@dataclass
class Preview:
    columns: list[str]
    types: list[str]  # arrow type names, e.g. "string", "int64", "timestamp[us, tz=UTC]"
    rows: list[list[str | None]]  # at most ``limit`` rows, every value as text (None = null)
    raw: str  # the start of the file as text; Avro/Parquet: the first rows as JSON lines
    truncated: bool  # the file has more rows than shown, or more text than ``raw`` holds


def preview(
    stream: BinaryIO,
    name: str,
    settings: FileSettings,
    *,
    limit: int = 200,
    raw_bytes: int = 64 * 1024,
) -> Preview:
    """Preview ``stream``; raises ReaderError (with file and position) if it cannot be read."""
    data = decompressed(stream, name, settings.compression)
    binary = settings.content_type in (AVRO, PARQUET)
    raw = ""
    raw_cut = False
    if not binary:
        head, data = peek(data, raw_bytes + 1)
        raw_cut = len(head) > raw_bytes
        decoder = codecs.getincrementaldecoder(settings.encoding)(errors="replace")
        raw = decoder.decode(head[:raw_bytes], final=not raw_cut)
    reader = _open_decompressed(
        data, name, settings, batch_rows=limit + 1, block_size=PREVIEW_BLOCK
    )
    try:
        first = next(reader.batches(), None)
    finally:
        reader.close()
    schema = reader.schema
    batch = first.slice(0, limit) if first is not None else None
    records = batch.to_pylist() if batch is not None else []
    rows = [[text(record.get(column)) for column in schema.names] for record in records]
    if binary:
        lines, size = [], 0
        for record in records:
            line = json.dumps(record, default=text, ensure_ascii=False)
            size += len(line) + 1
            if size > raw_bytes:
                raw_cut = True
                break
            lines.append(line)
        raw = "\n".join(lines)
    more_rows = first is not None and first.num_rows > limit
    return Preview(
        columns=list(schema.names),
        types=[str(f.type) for f in schema],
        rows=rows,
        raw=raw,
        truncated=more_rows or raw_cut,
    )


def text(value: Any) -> str | None:
    """A value as the review page shows it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, pa.Scalar):
        return text(value.as_py())
    return json.dumps(value, default=text, ensure_ascii=False)
