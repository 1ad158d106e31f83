"""Hostile and broken archives for the bounds tests: bombs made without holding them in memory,
and ZIPs whose headers are patched to lie (encrypted, zstd, wrong size)."""

from __future__ import annotations

import bz2
import io
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterator

CSV_HEADER = b"id,name\n"
ROW = b"1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"


def repeated_rows(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """``size`` bytes of a CSV whose rows all look alike: compresses about 1000:1."""
    yield CSV_HEADER
    line = ROW * (chunk // len(ROW))
    left = size - len(CSV_HEADER)
    while left > 0:
        part = line[:left]
        left -= len(part)
        yield part


def gzip_bomb(size: int) -> bytes:
    """A gzip file that decompresses to ``size`` bytes of CSV, compressed chunk by chunk."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [packer.compress(part) for part in repeated_rows(size)]
    out.append(packer.flush())
    return b"".join(out)


def bz2_bomb(size: int) -> bytes:
    packer = bz2.BZ2Compressor(9)
    out = [packer.compress(part) for part in repeated_rows(size)]
    out.append(packer.flush())
    return b"".join(out)


def zip_bomb(size: int, member: str = "data.csv", method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP with one member of ``size`` bytes, written from a generator (honest headers)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        with archive.open(member, "w", force_zip64=True) as target:
            for part in repeated_rows(size):
                target.write(part)
    return out.getvalue()


def tar_bomb(size: int, member: str = "data.csv", compression: str = "gz") -> bytes:
    """A .tar.gz / .tar.bz2 whose one member holds ``size`` bytes (streamed, not in memory)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=f"w|{compression}") as archive:
        info = tarfile.TarInfo(member)
        info.size = size
        archive.addfile(info, _Chunks(repeated_rows(size)))
    return out.getvalue()


class _Chunks(io.RawIOBase):
    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self._buffer) < size:
            part = next(self._parts, b"")
            if not part:
                break
            self._buffer += part
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def many_members_zip(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            archive.writestr(f"part-{i:05d}.csv", b"id,name\n%d,Ann\n" % i)
    return out.getvalue()


# ---------------------------------------------------------------- lying headers
LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
# byte offsets of (flags, method, compressed size, uncompressed size) in each header
_FIELDS = {LOCAL: (6, 8, 18, 22), CENTRAL: (8, 10, 20, 24)}


def patch_zip(data: bytes, *, flags: int = 0, method: int | None = None, size_delta: int = 0):
    """The ZIP with every member's local and central header changed: ``flags`` OR-ed in,
    the compression ``method`` replaced, the uncompressed size moved by ``size_delta``."""
    out = bytearray(data)
    for signature, (flag_at, method_at, _csize_at, usize_at) in _FIELDS.items():
        start = 0
        while (at := out.find(signature, start)) >= 0:
            start = at + 4
            (old_flags,) = struct.unpack_from("<H", out, at + flag_at)
            struct.pack_into("<H", out, at + flag_at, old_flags | flags)
            if method is not None:
                struct.pack_into("<H", out, at + method_at, method)
            (usize,) = struct.unpack_from("<I", out, at + usize_at)
            struct.pack_into("<I", out, at + usize_at, usize + size_delta)
    return bytes(out)


DATA_CSV = b"id,name\n" + b"".join(b"%d,Ann\n" % i for i in range(2000))


def encrypted_member_zip() -> bytes:
    return patch_zip(zip_of({"data.csv": DATA_CSV}), flags=0x1)


def zstd_member_zip() -> bytes:
    """Method 93 (zstd): what newer zip tools write; Python's zipfile cannot read it."""
    return patch_zip(zip_of({"data.csv": DATA_CSV}, zipfile.ZIP_STORED), method=93)


def lying_size_zip(delta: int = 1000) -> bytes:
    """The headers claim ``delta`` bytes more (or fewer, if negative) than the data holds."""
    return patch_zip(zip_of({"data.csv": DATA_CSV}), size_delta=delta)
