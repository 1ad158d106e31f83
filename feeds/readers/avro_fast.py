"""Avro object-container files decoded column-wise by polars, a group of blocks at a time.

polars decodes Avro about 8x faster than fastavro + RecordBatch.from_pylist, but its
``read_avro`` reads a whole file. So the container is walked block by block (avro_blocks.py,
which checks every block: sync marker, snappy CRC32, complete compressed data, and uncompresses
it) and, once a group holds about ``GROUP_ROWS`` records, the header
(rewritten to codec "null") + the group's blocks are handed to polars as a small in-memory file.
Memory is bounded by one group (plus one writer-sized block), whatever the file size.

Only flat records of scalars polars maps exactly are taken this way (Heap's exports are); any
other schema falls back to the fastavro reader in avro_reader.py, which stays the reference
(previews and schemas use it). A group polars cannot decode is decoded again by fastavro, which
either reads it or raises the precise "record N, block B (byte M)" error.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

import fastavro
import pyarrow as pa

from .avro_blocks import AvroBlocks, Block
from .avro_reader import arrow_schema, open_avro_blocks
from .base import Reader
from .errors import ReaderError
from .settings import FileSettings

# polars' allocator (jemalloc) keeps freed pages for 10 s by default, which made a long load's
# RSS several times its working set; return them at once. Read when polars is first imported.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

GROUP_ROWS = 16_384  # records per polars call: bigger groups decode no faster, cost more memory
SCALARS = frozenset({"boolean", "int", "long", "float", "double", "string"})
LOGICAL = frozenset({"timestamp-millis", "timestamp-micros", "date"})


def polars_can_read(schema: Any) -> bool:
    """A flat record whose fields are (nullable) scalars polars decodes to the same types."""
    if not (isinstance(schema, dict) and schema.get("type") == "record" and schema.get("fields")):
        return False
    for f in schema["fields"]:
        t = f["type"]
        if isinstance(t, list):
            branches = [b for b in t if b != "null"]
            if len(branches) != 1 or len(t) > 2:
                return False
            t = branches[0]
        if isinstance(t, dict):
            if t.get("logicalType") not in LOGICAL or t.get("type") not in ("int", "long"):
                return False
            if (t["logicalType"] == "date") != (t["type"] == "int"):
                return False
        elif t not in SCALARS:
            return False
    return True


def open_avro_fast(
    stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int
) -> Reader:
    container = AvroBlocks(stream, name)
    writer_schema = container.header.schema(name)
    schema, _ = arrow_schema(writer_schema, name)
    if not polars_can_read(writer_schema):
        return open_avro_blocks(container, batch_rows=batch_rows)
    return Reader(schema, _groups(container, schema, batch_rows), batch_rows=batch_rows)


def _groups(container: AvroBlocks, schema: pa.Schema, batch_rows: int) -> Iterator[pa.RecordBatch]:
    group_rows = min(batch_rows, GROUP_ROWS)
    header = container.header.null_codec_bytes()
    blocks: list[Block] = []
    rows = 0  # records in the pending group
    first = 1  # number of the group's first record
    for block in container.blocks():
        blocks.append(block)
        rows += block.count
        if rows >= group_rows:
            yield from _decode(container, header, blocks, schema, first)
            first, rows, blocks = first + rows, 0, []
    if blocks:
        yield from _decode(container, header, blocks, schema, first)


def _decode(
    container: AvroBlocks, header: bytes, blocks: list[Block], schema: pa.Schema, first: int
) -> Iterator[pa.RecordBatch]:
    import polars as pl  # imported late: only loads need it

    sync = container.header.sync
    data = header + b"".join(b.framed(sync) for b in blocks)
    try:
        table = pl.read_avro(io.BytesIO(data)).to_arrow().cast(schema)
    except Exception:  # polars refused: fastavro reads it, or names the bad record
        yield _decode_slowly(container, data, blocks, schema, first)
        return
    yield from table.to_batches()


def _decode_slowly(
    container: AvroBlocks, data: bytes, blocks: list[Block], schema: pa.Schema, first: int
) -> pa.RecordBatch:
    rows: list[dict[str, Any]] = []
    try:
        for record in fastavro.reader(io.BytesIO(data)):
            rows.append(record)  # type: ignore[arg-type]  # a record schema: dicts
    except Exception as e:
        number = first + len(rows)
        block, start = blocks[0], first
        for b in blocks:  # the block holding the record that failed
            if number < start + b.count:
                block = b
                break
            start += b.count
        raise ReaderError.at(
            container.name,
            f"record {number}, block {block.number} (byte {block.offset})",
            f"cannot decode the record: corrupt Avro data, codec {container.header.codec} "
            f"({type(e).__name__}: {e})",
        ) from e
    return pa.RecordBatch.from_pylist(rows, schema=schema)
