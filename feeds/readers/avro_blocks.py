"""Avro object container files walked block by block, each block checked before it is decoded.

Neither decoder checks the container: fastavro accepts any magic after "Obj" and ignores the
CRC32 that ends a snappy block, and polars ignores it too, so a flipped byte in a block loaded as
a different value. Both readers are therefore fed by this walker. It reads the header (magic
"Obj\\x01" exactly, metadata, sync marker), then each block: record count, byte size, data and
the sync marker, which must equal the header's. It decompresses every block itself: snappy's
CRC32 (the 4 big-endian bytes after the compressed data, of the UNcompressed data) must match;
deflate, bzip2 and xz data must be complete. Decoders are then handed the
header rewritten to codec "null" and the uncompressed blocks, so nothing is decompressed twice.

Errors name the block (1 = the first after the header) and the byte offset where it starts.
"""

from __future__ import annotations

import bz2
import json
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from .errors import ReaderError
from .limits import reader_limit
from .streams import ReadOnlyStream

MAGIC = b"Obj\x01"
SYNC_SIZE = 16
CODECS = ("null", "deflate", "snappy", "bzip2", "xz")
READ_CHUNK = 1024 * 1024
MAX_BLOCK_BYTES_SETTING = "SOURCES_AVRO_MAX_BLOCK_BYTES"
DEFAULT_MAX_BLOCK_BYTES = 256 * 1024 * 1024


class _Source:
    """Reads from a stream through a 1 MiB buffer, counting the bytes consumed (the offset)."""

    def __init__(self, stream: BinaryIO, offset: int = 0) -> None:
        self._stream = stream
        self._buf = b""
        self._pos = 0
        self.offset = offset

    def read(self, size: int) -> bytes:
        """``size`` bytes, fewer only at the end of the stream."""
        if len(self._buf) - self._pos >= size:
            out = self._buf[self._pos : self._pos + size]
            self._pos += size
            self.offset += size
            return out
        parts = [self._buf[self._pos :]]
        have = len(parts[0])
        self._buf, self._pos = b"", 0
        while have < size:
            chunk = self._stream.read(max(size - have, READ_CHUNK))
            if not chunk:
                break
            need = size - have
            parts.append(chunk[:need])
            have += min(len(chunk), need)
            if len(chunk) > need:
                self._buf = chunk
                self._pos = need
        out = b"".join(parts)
        self.offset += len(out)
        return out

    def at_end(self) -> bool:
        if self._pos < len(self._buf):
            return False
        self._buf, self._pos = self._stream.read(READ_CHUNK), 0
        return not self._buf

    def read_long(self) -> int:
        """A zig-zag varint; EOFError if the stream ends inside it."""
        shift = result = 0
        while True:
            byte = self.read(1)
            if not byte:
                raise EOFError
            b = byte[0]
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7
            if shift > 63:
                raise ValueError("a number longer than 64 bits")


def encode_long(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _encode_bytes(data: bytes) -> bytes:
    return encode_long(len(data)) + data


@dataclass
class AvroHeader:
    metadata: dict[str, bytes]
    sync: bytes
    size: int  # bytes from the start of the file to the first block

    @property
    def codec(self) -> str:
        return self.metadata.get("avro.codec", b"null").decode("utf-8", "replace") or "null"

    def schema(self, name: str) -> Any:
        try:
            return json.loads(self.metadata["avro.schema"])
        except KeyError:
            raise ReaderError.at(name, "header", "the Avro header holds no schema") from None
        except RecursionError:
            raise ReaderError.at(
                name, "header", "the Avro schema is nested too deeply to read"
            ) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise ReaderError.at(name, "header", f"the Avro schema is not JSON ({e})") from None

    def null_codec_bytes(self) -> bytes:
        """This header as a decoder is given it: same metadata and sync, codec "null"."""
        meta = dict(self.metadata, **{"avro.codec": b"null"})
        out = [MAGIC, encode_long(len(meta))]
        for key, value in meta.items():
            out += (_encode_bytes(key.encode()), _encode_bytes(value))
        out += (encode_long(0), self.sync)
        return b"".join(out)


@dataclass
class Block:
    number: int  # 1 = the first block after the header
    offset: int  # byte offset of the block's start in the file
    count: int  # records
    data: bytes  # uncompressed

    def framed(self, sync: bytes) -> bytes:
        """The block as a codec-"null" container holds it."""
        return b"".join((encode_long(self.count), encode_long(len(self.data)), self.data, sync))


def check_magic(head: bytes, name: str) -> None:
    if head != MAGIC:
        hint = ""
        if head[:2] == b"\x1f\x8b":
            hint = " (it starts like gzip data: set compression to gzip)"
        elif head == b"PAR1":
            hint = " (it looks like Parquet)"
        elif head[:3] == b"Obj":
            hint = f" (version byte {head[3:4].hex() or 'missing'}, expected 01)"
        raise ReaderError.at(
            name,
            "byte 0",
            f'not an Avro file (no "Obj" header){hint} — is the content type right?',
        )


class AvroBlocks:
    """An Avro container read from ``stream``: ``header``, then ``blocks()`` checked one by one."""

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.name = name
        self._src = _Source(stream)
        check_magic(self._src.read(4), name)
        self.header = self._read_header()
        if self.header.codec not in CODECS:
            raise ReaderError.at(
                name,
                "header",
                f"unsupported Avro codec {self.header.codec!r} (supported: {', '.join(CODECS)})",
            )
        self.max_block_bytes = reader_limit(MAX_BLOCK_BYTES_SETTING, DEFAULT_MAX_BLOCK_BYTES)
        self.blocks_read = 0

    def _read_header(self) -> AvroHeader:
        src = self._src
        meta: dict[str, bytes] = {}
        try:
            while True:
                count = src.read_long()
                if count == 0:
                    break
                if count < 0:
                    count = -count
                    src.read_long()  # byte size of the map block
                for _ in range(count):
                    key = self._read_bytes().decode()
                    meta[key] = self._read_bytes()
            sync = src.read(SYNC_SIZE)
            if len(sync) != SYNC_SIZE:
                raise EOFError
        except EOFError:
            raise ReaderError.at(
                self.name,
                f"byte {src.offset}",
                "the Avro header ends early — is the file complete?",
            ) from None
        except (ValueError, UnicodeDecodeError) as e:
            raise ReaderError.at(
                self.name, f"byte {src.offset}", f"the Avro header is corrupt ({e})"
            ) from None
        return AvroHeader(meta, sync, src.offset)

    def _read_bytes(self) -> bytes:
        size = self._src.read_long()
        if size < 0 or size > DEFAULT_MAX_BLOCK_BYTES:
            raise ValueError(f"a header entry of {size} bytes")
        data = self._src.read(size)
        if len(data) != size:
            raise EOFError
        return data

    def blocks(self) -> Iterator[Block]:
        """Each block, checked and uncompressed; ReaderError names the block and its offset."""
        src = self._src
        while not src.at_end():
            number, offset = self.blocks_read + 1, src.offset
            where = f"block {number} (byte {offset})"
            try:
                count, size = src.read_long(), src.read_long()
            except (EOFError, ValueError):
                raise ReaderError.at(
                    self.name,
                    where,
                    "the block header is cut short or corrupt — is the file complete?",
                ) from None
            if count < 0 or size < 0:
                raise ReaderError.at(
                    self.name, where, f"corrupt block header (record count {count}, size {size})"
                )
            if size > self.max_block_bytes:
                raise ReaderError.at(self.name, where, self._too_big(size))
            data = src.read(size)
            if len(data) != size:
                raise ReaderError.at(
                    self.name,
                    where,
                    f"the file ends inside this block ({size} bytes declared, {len(data)} left)"
                    " — is the file complete?",
                )
            marker = src.read(SYNC_SIZE)
            if marker != self.header.sync:
                what = "is missing" if len(marker) < SYNC_SIZE else "does not match the header's"
                raise ReaderError.at(
                    self.name,
                    where,
                    f"the sync marker after the block {what}: the file is corrupt "
                    "(or cut short, or two files were joined)",
                )
            self.blocks_read = number
            yield Block(number, offset, count, self._uncompressed(data, where))

    def _too_big(self, size: int) -> str:
        return (
            f"the block holds {size:,} bytes, more than the limit of {self.max_block_bytes:,} "
            f"(setting {MAX_BLOCK_BYTES_SETTING})"
        )

    def _uncompressed(self, data: bytes, where: str) -> bytes:
        codec = self.header.codec
        if codec == "null":
            return data
        try:
            if codec == "snappy":
                return self._snappy(data, where)
            if codec == "deflate":
                return self._stream_codec(zlib.decompressobj(-15), data, where)
            if codec == "bzip2":
                return self._stream_codec(bz2.BZ2Decompressor(), data, where)
            return self._stream_codec(lzma.LZMADecompressor(), data, where)
        except ReaderError:
            raise
        except Exception as e:  # the codec libraries raise their own error types
            raise ReaderError.at(
                self.name, where, f"corrupt {codec} data ({type(e).__name__}: {e})"
            ) from None

    def _snappy(self, data: bytes, where: str) -> bytes:
        import cramjam  # imported late: only snappy files need it

        if len(data) < 4:
            raise ReaderError.at(self.name, where, "snappy block shorter than its checksum")
        compressed, stored = data[:-4], int.from_bytes(data[-4:], "big")
        length = cramjam.snappy.decompress_raw_len(compressed)
        if length > self.max_block_bytes:
            raise ReaderError.at(self.name, where, "uncompressed, " + self._too_big(length))
        out = bytes(cramjam.snappy.decompress_raw(compressed))
        actual = zlib.crc32(out)
        if actual != stored:
            raise ReaderError.at(
                self.name,
                where,
                f"snappy checksum mismatch: the block says CRC32 {stored:08x}, its data has "
                f"{actual:08x} — the file is corrupt",
            )
        return out

    def _stream_codec(self, decoder: Any, data: bytes, where: str) -> bytes:
        out = decoder.decompress(data, self.max_block_bytes + 1)
        if len(out) > self.max_block_bytes:
            raise ReaderError.at(self.name, where, "uncompressed, " + self._too_big(len(out)))
        if not decoder.eof:  # (bytes after the end are tolerated: fastavro writes 3 of them)
            raise ReaderError.at(
                self.name, where, f"corrupt {self.header.codec} data: the stream ends early"
            )
        return out


class DecodedStream(ReadOnlyStream):
    """The container as decoders read it: the codec-"null" header, then each checked block.

    ``where(record)`` names the block holding a record read so far, for decoding errors (the
    last 16 blocks are remembered: decoders read at most one block ahead)."""

    def __init__(self, container: AvroBlocks) -> None:
        super().__init__()
        self._container = container
        self._blocks = container.blocks()
        self._pending = memoryview(container.header.null_codec_bytes())
        self._spans: list[tuple[int, int, int]] = []  # (first record, block number, offset)
        self._records = 0

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        want = size if size is not None and size >= 0 else None
        have = 0
        while want is None or have < want:
            if not self._pending:
                block = next(self._blocks, None)
                if block is None:
                    break
                self._spans = self._spans[-15:] + [(self._records + 1, block.number, block.offset)]
                self._records += block.count
                self._pending = memoryview(block.framed(self._container.header.sync))
            take = len(self._pending) if want is None else min(want - have, len(self._pending))
            parts.append(bytes(self._pending[:take]))
            self._pending = self._pending[take:]
            have += take
        return b"".join(parts)

    def where(self, record: int) -> str:
        """``block N (byte B)`` of the block holding ``record`` (1-based), best known."""
        for first, number, offset in reversed(self._spans):
            if record >= first:
                return f"block {number} (byte {offset})"
        return f"byte {self._container.header.size}"
