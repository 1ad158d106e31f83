"""Small stream helpers: count bytes, replay a peeked prefix, decompress gzip, spool to disk."""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import zlib
from typing import BinaryIO

from .errors import ReaderError

CHUNK = 1024 * 1024


class ReadOnlyStream(io.RawIOBase):
    """A readable raw stream whose subclasses implement ``read(size)``; the rest follows."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)


class CountingStream(io.RawIOBase):
    """Wraps a binary stream and counts the bytes read from it (for 'byte N' in errors)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read() if size is None or size < 0 else self.raw.read(size)
        self.count += len(data)
        return data


class PrefixedStream(io.RawIOBase):
    """Replays ``prefix`` and then the rest of ``rest``: lets us peek at a non-seekable stream."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        if self._prefix and (size is None or size < 0):
            head = bytes(self._prefix)
            self._prefix = memoryview(b"")
            return head + self._rest.read()
        if self._prefix:
            n = min(size, len(self._prefix))
            head = bytes(self._prefix[:n])
            self._prefix = self._prefix[n:]
            return head
        return self._rest.read() if size is None or size < 0 else self._rest.read(size)


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Read up to ``size`` bytes, looping over short reads; fewer only at end of stream."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts)


def peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """Return the first ``size`` bytes and a stream that still starts at byte 0."""
    head = read_exactly(stream, size)
    return head, PrefixedStream(head, stream)  # type: ignore[return-value]


class GunzipStream(ReadOnlyStream):
    """Streaming gzip decompression that turns zlib/gzip failures into ReaderError."""

    def __init__(self, stream: BinaryIO, name: str, *, context: str = "") -> None:
        self._counter = CountingStream(stream)
        self._gz = gzip.GzipFile(fileobj=self._counter, mode="rb")  # type: ignore[arg-type]
        self._name = name
        self._context = context  # e.g. "unable to decompress archive: "

    def read(self, size: int = -1) -> bytes:
        try:
            return self._gz.read(size if size is not None else -1)
        except EOFError as e:
            raise self._error(
                "truncated gzip: the compressed data ends before the end-of-stream marker "
                "(was the file cut short while uploading?)"
            ) from e
        except gzip.BadGzipFile as e:
            raise self._error(
                f"not gzip data ({e}) — is the file really compressed? Try compression none"
            ) from e
        except (zlib.error, OSError) as e:
            raise self._error(f"corrupt gzip data ({e})") from e

    def _error(self, cause: str) -> ReaderError:
        return ReaderError.at(self._name, f"byte {self._counter.count}", self._context + cause)


def decompressed(stream: BinaryIO, name: str, compression: str) -> BinaryIO:
    """The decompressed view of ``stream`` for the given compression (``none`` or ``gzip``)."""
    if compression == "none":
        compression, stream = sniffed_compression(stream)
    if compression == "gzip":
        return GunzipStream(stream, name)  # type: ignore[return-value]
    if compression != "none":
        raise ReaderError.at(name, "", f"unsupported compression {compression!r}")
    return stream


def is_seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def spool(stream: BinaryIO) -> BinaryIO:
    """Copy a stream to an anonymous temporary file (disk, not memory) and rewind it."""
    tmp = tempfile.TemporaryFile()
    shutil.copyfileobj(stream, tmp, CHUNK)
    tmp.seek(0)
    return tmp  # type: ignore[return-value]


GZIP_MAGIC = b"\x1f\x8b"


def sniffed_compression(stream: BinaryIO) -> tuple[str, BinaryIO]:
    """The compression the first bytes say: gzip for gzip's magic bytes (a gzip file whose
    name lacks .gz; no text, Avro or Parquet file starts so), else none; and the stream, still
    at its start."""
    if is_seekable(stream):
        start = stream.tell()
        head = read_exactly(stream, len(GZIP_MAGIC))
        stream.seek(start)
    else:
        head, stream = peek(stream, len(GZIP_MAGIC))
    return ("gzip" if head == GZIP_MAGIC else "none"), stream
