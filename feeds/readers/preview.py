"""preview: the first rows and raw text of a file, reading only the beginning of the stream.

The rows come from the same reader a load uses (``formats._open_decompressed``, the same
settings), and ``Preview.fields`` from the same inference Add Feed uses, so what the review
page shows is what loads.
"""

from __future__ import annotations

import codecs
import json
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa

from .canonical_json import value_text
from .csv_reader import NOTES_METADATA
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
    notes: list[str] = field(default_factory=list)  # what the reader changed (header names)
    schema: pa.Schema | None = None  # the reader's schema, as a load sees it
    sample: pa.RecordBatch | None = None  # the rows shown, as a load sees them


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
    notes = json.loads((schema.metadata or {}).get(NOTES_METADATA, b"[]"))
    return Preview(
        columns=list(schema.names),
        types=[str(f.type) for f in schema],
        rows=rows,
        raw=raw,
        truncated=more_rows or raw_cut,
        notes=notes,
        schema=schema,
        sample=batch,
    )


text = value_text  # a value as the review page shows it
