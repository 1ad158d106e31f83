"""Small stream helpers: count bytes, replay a peeked prefix, decompress within limits, spool."""

from __future__ import annotations

import bz2
import gzip
import io
import shutil
import tempfile
import zlib
from typing import BinaryIO

from .errors import ReaderError
from .limits import Limits, check_output, current_limits

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


class DecompressedStream(ReadOnlyStream):
    """Streaming gzip or bzip2 decompression, bounded by the limits: bytes are counted as they
    come out and the read that crosses a limit raises ReaderError (naming the setting), so a
    bomb costs at most one chunk past the limit. Codec failures become ReaderError too."""

    codec = ""

    def __init__(
        self, stream: BinaryIO, name: str, *, context: str = "", limits: Limits | None = None
    ) -> None:
        self._counter = CountingStream(stream)
        self._file = self._open(self._counter)
        self._name = name
        self._context = context  # e.g. "unable to decompress archive: "
        self._limits = limits or current_limits()
        self._out = 0

    def _open(self, raw: CountingStream) -> BinaryIO:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        """``size`` bytes (fewer only at the end); all of it for -1, one chunk at a time."""
        want = size if size is not None and size >= 0 else None
        parts: list[bytes] = []
        got = 0
        while want is None or got < want:
            data = self._read_chunk(CHUNK if want is None else min(CHUNK, want - got))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def _read_chunk(self, size: int) -> bytes:
        try:
            data = self._file.read(size)
        except EOFError as e:
            raise self._error(
                f"truncated {self.codec}: the compressed data ends before the end-of-stream "
                "marker (was the file cut short while uploading?)"
            ) from e
        except gzip.BadGzipFile as e:
            raise self._error(
                f"not gzip data ({e}) — is the file really compressed? Try compression none"
            ) from e
        except (zlib.error, OSError) as e:
            raise self._error(f"corrupt {self.codec} data ({e})") from e
        self._out += len(data)
        problem = check_output(self._limits, self._out, self._counter.count)
        if problem:
            raise ReaderError.at(self._name, "", self._context + problem)
        return data

    def _error(self, cause: str) -> ReaderError:
        return ReaderError.at(self._name, f"byte {self._counter.count}", self._context + cause)


class GunzipStream(DecompressedStream):
    codec = "gzip"

    def _open(self, raw: CountingStream) -> BinaryIO:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]


class Bunzip2Stream(DecompressedStream):
    codec = "bzip2"

    def _open(self, raw: CountingStream) -> BinaryIO:
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]


DECOMPRESSORS: dict[str, type[DecompressedStream]] = {"gzip": GunzipStream, "bzip2": Bunzip2Stream}


def decompressed(stream: BinaryIO, name: str, compression: str) -> BinaryIO:
    """The decompressed view of ``stream`` for the given compression (none, gzip or bzip2);
    with none, a stream whose first bytes are gzip's or bzip2's magic is decompressed too."""
    if compression == "none":
        compression, stream = sniffed_compression(stream)
    if compression in DECOMPRESSORS:
        return DECOMPRESSORS[compression](stream, name)  # type: ignore[return-value]
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
    return tmp


def sniffed_compression(stream: BinaryIO) -> tuple[str, BinaryIO]:
    """The compression the first bytes say (a gzip or bzip2 file whose name lacks .gz/.bz2; no
    text, Avro or Parquet file starts so), else none; and the stream, still at its start."""
    if is_seekable(stream):
        start = stream.tell()
        head = read_exactly(stream, 4)
        stream.seek(start)
    else:
        head, stream = peek(stream, 4)
    if head[:2] == b"\x1f\x8b":
        return "gzip", stream
    if head[:3] == b"BZh" and head[3:4].isdigit():
        return "bzip2", stream
    return "none", stream
