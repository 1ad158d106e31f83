"""Avro object-container files decoded column-wise by polars, a group of blocks at a time.

polars decodes snappy Avro about 8x faster than fastavro + RecordBatch.from_pylist, but its
``read_avro`` reads a whole file. So we split the container ourselves: the header is kept as
read, data blocks are framed (count, size, bytes, sync marker) and, once a group holds about
``GROUP_ROWS`` records, header + group is handed to polars as a small in-memory file. Memory is
bounded by one group (plus one writer-sized block), whatever the file size.

Only flat records of scalars polars maps exactly are taken this way (Heap's exports are); any
other schema or codec falls back to the fastavro reader in avro_reader.py, which stays the
reference (previews and schemas use it). A group polars cannot decode is decoded again by
fastavro, which either reads it or raises the precise "record N (byte M)" error.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

import fastavro
import pyarrow as pa

from .avro_reader import arrow_schema, check_magic, open_avro
from .base import Reader
from .errors import ReaderError
from .settings import FileSettings
from .streams import CountingStream, PrefixedStream, read_exactly

# polars' allocator (jemalloc) keeps freed pages for 10 s by default, which made a long load's
# RSS several times its working set; return them at once. Read when polars is first imported.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")

SYNC_SIZE = 16
GROUP_ROWS = 16_384  # records per polars call: bigger groups decode no faster, cost more memory
CODECS = frozenset({"null", "deflate", "snappy"})
SCALARS = frozenset({"boolean", "int", "long", "float", "double", "string"})
LOGICAL = frozenset({"timestamp-millis", "timestamp-micros", "date"})


class _Recorder(io.RawIOBase):
    """Reads from a stream and keeps the bytes read (the header is replayed for each group)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.kept = bytearray()

    def read(self, size: int = -1) -> bytes:
        data = read_exactly(self.raw, size)
        self.kept += data
        return data


def _read_long(stream: Any) -> int | None:
    """A zig-zag varint; None at a clean end of stream."""
    shift = result = 0
    while True:
        byte = stream.read(1)
        if not byte:
            if shift:
                raise EOFError("stream ends inside a number")
            return None
        b = byte[0]
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1)
        shift += 7


def _long_bytes(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _header(stream: Any) -> tuple[bytes, dict[str, bytes], bytes]:
    """(raw header bytes, metadata, sync marker) of a container whose magic was checked."""
    rec = _Recorder(stream)
    meta: dict[str, bytes] = {}
    while True:
        count = _read_long(rec)
        if count is None:
            raise EOFError("the header ends early")
        if count == 0:
            break
        if count < 0:
            count = -count
            _read_long(rec)  # byte size of the map block
        for _ in range(count):
            key = rec.read(_read_long(rec) or 0).decode()
            meta[key] = rec.read(_read_long(rec) or 0)
    sync = rec.read(SYNC_SIZE)
    if len(sync) != SYNC_SIZE:
        raise EOFError("the header ends early")
    return bytes(rec.kept), meta, sync


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
    counter = CountingStream(stream)
    head = read_exactly(counter, 4)  # type: ignore[arg-type]
    check_magic(head, name)
    try:
        raw_header, meta, sync = _header(counter)
        writer_schema = json.loads(meta["avro.schema"])
    except (EOFError, KeyError, ValueError, UnicodeDecodeError):
        # An unreadable header: the reference reader words the error. (Only decoding errors:
        # a failing stream — network, S3 — must surface as itself, not as a corrupt file.)
        writer_schema = None
        raw_header = b""
    codec = meta.get("avro.codec", b"null").decode() if writer_schema is not None else ""
    if writer_schema is None or codec not in CODECS or not polars_can_read(writer_schema):
        return open_avro(PrefixedStream(head + raw_header, counter), name, settings,  # type: ignore[arg-type]
                         batch_rows=batch_rows)  # fmt: skip
    schema, _ = arrow_schema(writer_schema)
    header = head + raw_header
    return Reader(schema, _groups(counter, name, header, sync, schema, codec, batch_rows),
                  batch_rows=batch_rows)  # fmt: skip


def _groups(
    counter: CountingStream,
    name: str,
    header: bytes,
    sync: bytes,
    schema: pa.Schema,
    codec: str,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    group_rows = min(batch_rows, GROUP_ROWS)
    blocks: list[bytes] = []
    rows = 0  # records in the pending group
    first = 1  # number of the group's first record
    start = counter.count  # byte offset of the group's first block
    while True:
        at = counter.count
        try:
            count = _read_long(counter)
            if count is None:
                break
            size = _read_long(counter)
            if size is None or count < 0 or size < 0:
                raise EOFError("bad block header")
            data = read_exactly(counter, size)  # type: ignore[arg-type]
            marker = read_exactly(counter, SYNC_SIZE)  # type: ignore[arg-type]
            if len(data) != size or marker != sync:
                raise EOFError("the block ends early or its sync marker is wrong")
        except EOFError as e:
            raise ReaderError.at(
                name,
                f"record {first + rows} (byte {at})",
                f"corrupt or truncated Avro data block, codec {codec} ({e})",
            ) from e
        blocks += (_long_bytes(count), _long_bytes(size), data, marker)
        rows += count
        if rows >= group_rows:
            yield from _decode(name, header, blocks, schema, codec, first, start)
            first, rows, blocks, start = first + rows, 0, [], counter.count
    if rows:
        yield from _decode(name, header, blocks, schema, codec, first, start)


def _decode(
    name: str,
    header: bytes,
    blocks: list[bytes],
    schema: pa.Schema,
    codec: str,
    first: int,
    start: int,
) -> Iterator[pa.RecordBatch]:
    import polars as pl  # imported late: only loads need it

    data = header + b"".join(blocks)
    try:
        table = pl.read_avro(io.BytesIO(data)).to_arrow().cast(schema)
    except Exception:  # polars refused: fastavro reads it, or names the bad record
        yield from _decode_slowly(name, data, len(header), schema, codec, first, start)
        return
    yield from table.to_batches()


def _decode_slowly(
    name: str, data: bytes, header_size: int, schema: pa.Schema, codec: str, first: int, start: int
) -> Iterator[pa.RecordBatch]:
    counter = CountingStream(io.BytesIO(data))
    number = 0
    rows: list[dict[str, Any]] = []
    try:
        for record in fastavro.reader(counter):
            rows.append(record)
            number += 1
    except Exception as e:
        offset = start + max(counter.count - header_size, 0)
        raise ReaderError.at(
            name,
            f"record {first + number} (byte {offset})",
            f"corrupt or truncated Avro data block, codec {codec} ({type(e).__name__}: {e})",
        ) from e
    yield pa.RecordBatch.from_pylist(rows, schema=schema)
