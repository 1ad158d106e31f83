"""Bytes for the hostile corpus, made in code: files, tampered files, archives, PGP messages.

Every builder is deterministic (no clock, no randomness without a fixed seed) except the PGP
ones, whose ciphertext differs per session (the outcome does not).
"""

from __future__ import annotations

import atexit
import bz2
import csv
import datetime as dt
import functools
import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

# ------------------------------------------------------------------ delimited text


def text_value(value: Any) -> str:
    """A Python value as a delimited file writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def delimited(header: list[str], rows: list[list[Any]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([text_value(v) for v in row])
    return out.getvalue().encode()


def csv_of(dicts: list[dict], columns: list[str] | None = None, delimiter: str = ",") -> bytes:
    columns = columns or list(dicts[0])
    return delimited(columns, [[d.get(c) for c in columns] for d in dicts], delimiter)


def ndjson_of(dicts: list[dict]) -> bytes:
    return "".join(json.dumps(d, default=str) + "\n" for d in dicts).encode()


# ------------------------------------------------------------------ compression


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def bz(data: bytes) -> bytes:
    return bz2.compress(data)


@functools.cache
def zeros_gzip(size: int) -> bytes:
    """gzip of ``size`` zero bytes, compressed in 1 MB steps (never ``size`` bytes in memory)."""
    out = io.BytesIO()
    chunk = bytes(1 << 20)
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as f:
        left = size
        while left > 0:
            f.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return out.getvalue()


@functools.cache
def zeros_bz2(size: int) -> bytes:
    comp = bz2.BZ2Compressor()
    chunk = bytes(1 << 20)
    parts, left = [], size
    while left > 0:
        parts.append(comp.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(comp.flush())
    return b"".join(parts)


def deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


# ------------------------------------------------------------------ ZIP by hand

ZIP_STORED, ZIP_DEFLATED, ZIP_ZSTD = 0, 8, 93


@dataclass
class ZipEntry:
    name: str
    data: bytes  # as stored (compressed/encrypted already)
    crc: int
    size: int  # uncompressed size written in the headers
    method: int = ZIP_STORED
    flags: int = 0
    version: int = 20


def zip_entry(name: str, content: bytes, method: int = ZIP_DEFLATED) -> ZipEntry:
    data = deflate_raw(content) if method == ZIP_DEFLATED else content
    return ZipEntry(name, data, zlib.crc32(content), len(content), method)


def raw_zip(entries: list[ZipEntry]) -> bytes:
    """A ZIP archive written field by field, so headers can say what zipfile would refuse to
    write (duplicate names, unknown methods, lies about sizes, the encryption flag)."""
    out = io.BytesIO()
    central = io.BytesIO()
    dos_time, dos_date = 0, (2024 - 1980) << 9 | 1 << 5 | 1
    for e in entries:
        offset = out.tell()
        name = e.name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, e.version, e.flags, e.method, dos_time, dos_date,
                e.crc, len(e.data), e.size, len(name), 0,
            )
        )  # fmt: skip
        out.write(name)
        out.write(e.data)
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII", 0x02014B50, e.version, e.version, e.flags, e.method,
                dos_time, dos_date, e.crc, len(e.data), e.size, len(name), 0, 0, 0, 0, 0, offset,
            )
        )  # fmt: skip
        central.write(name)
    cd = central.getvalue()
    start = out.tell()
    out.write(cd)
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), start, 0)
    )
    return out.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), content)
    return out.getvalue()


@functools.cache
def zip_bomb(member: str, size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(zipfile.ZipInfo(member, (2024, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(size // len(chunk)):
                f.write(chunk)
    return out.getvalue()


@functools.cache
def zip_many(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            z.writestr(zipfile.ZipInfo(f"m{i:05d}.csv", (2024, 1, 1, 0, 0, 0)), f"id,name\n{i},n\n")
    return out.getvalue()


def _zipcrypto_keys():
    return [0x12345678, 0x23456789, 0x34567890]


def zipcrypto_encrypt(content: bytes, password: bytes, crc: int) -> bytes:
    """Traditional PKWARE encryption (what "encrypted ZIP member" means in most archives)."""
    keys = _zipcrypto_keys()

    def crc32_byte(c: int, b: int) -> int:
        return (zlib.crc32(bytes([b]), c ^ 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF

    def update(b: int) -> None:
        keys[0] = crc32_byte(keys[0], b)
        keys[1] = (keys[1] + (keys[0] & 0xFF)) & 0xFFFFFFFF
        keys[1] = (keys[1] * 134775813 + 1) & 0xFFFFFFFF
        keys[2] = crc32_byte(keys[2], keys[1] >> 24)

    def stream_byte() -> int:
        t = (keys[2] | 2) & 0xFFFF
        return ((t * (t ^ 1)) >> 8) & 0xFF

    for b in password:
        update(b)
    header = bytes(range(11)) + bytes([crc >> 24 & 0xFF])
    out = bytearray()
    for b in header + content:
        out.append(b ^ stream_byte())
        update(b)
    return bytes(out)


# ------------------------------------------------------------------ TAR


def tar_of(members: list[tuple[str, bytes] | tarfile.TarInfo], compress: bool = False) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as t:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                t.addfile(m)
                continue
            name, content = m
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 1_700_000_000
            t.addfile(info, io.BytesIO(content))
    data = out.getvalue()
    return gz(data) if compress else data


def tar_special(name: str, kind: bytes, linkname: str = "", dev: tuple[int, int] = (0, 0)):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.devmajor, info.devminor = dev
    info.mtime = 1_700_000_000
    return info


@functools.cache
def tar_many(count: int) -> bytes:
    return tar_of([(f"m{i:05d}.csv", f"id,name\n{i},n\n".encode()) for i in range(count)])


@functools.cache
def tar_bomb(member: str, size: int) -> bytes:
    """A .tar.gz whose one member is ``size`` zero bytes."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as g:
        with tarfile.open(fileobj=g, mode="w|", format=tarfile.GNU_FORMAT) as t:
            info = tarfile.TarInfo(member)
            info.size = size
            t.addfile(info, _Zeros(size))
    return out.getvalue()


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return bytes(n)


# ------------------------------------------------------------------ Avro


def avro_of(
    schema: dict, records: list[dict], codec: str = "null", block_records: int | None = None
) -> bytes:
    """An Avro container; ``block_records`` records per block (one block by default)."""
    out = io.BytesIO()
    parsed = fastavro.parse_schema(schema)
    writer = fastavro.write.Writer(out, parsed, codec=codec, sync_marker=b"S" * 16)
    step = block_records or max(len(records), 1)
    for start in range(0, len(records), step):
        for record in records[start : start + step]:
            writer.write(record)
        writer.flush()
    writer.flush()
    return out.getvalue()


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    b = buf[pos]
    n, shift, pos = b & 0x7F, 7, pos + 1
    while b & 0x80:
        b = buf[pos]
        n |= (b & 0x7F) << shift
        shift, pos = shift + 7, pos + 1
    return (n >> 1) ^ -(n & 1), pos


@dataclass
class AvroBlock:
    start: int  # offset of the block's record count
    payload: int  # offset of its (compressed) data
    size: int
    sync: int  # offset of the sync marker after it


def avro_blocks(data: bytes) -> list[AvroBlock]:
    assert data[:4] == b"Obj\x01"
    pos = 4
    while True:
        count, pos = _read_long(data, pos)
        if count == 0:
            break
        if count < 0:
            _, pos = _read_long(data, pos)
            count = -count
        for _ in range(count):
            n, pos = _read_long(data, pos)
            pos += n
            n, pos = _read_long(data, pos)
            pos += n
    pos += 16
    blocks = []
    while pos < len(data):
        start = pos
        _, pos = _read_long(data, pos)
        size, pos = _read_long(data, pos)
        blocks.append(AvroBlock(start, pos, size, pos + size))
        pos += size + 16
    return blocks


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


# ------------------------------------------------------------------ Parquet


def parquet_of(table: pa.Table, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    pq.write_table(table, out, **kwargs)
    return out.getvalue()


# ------------------------------------------------------------------ PGP (system gpg)


@dataclass(frozen=True)
class PgpKey:
    name: str
    email: str
    fingerprint: str  # primary key
    subkey_id: str  # the encryption subkey's long id: what a message names as its recipient
    secret: str  # ASCII-armored private key
    passphrase: str


class Pgp:
    """A gpg home holding the corpus' keys; encrypts test files for them."""

    def __init__(self) -> None:
        self.home = tempfile.mkdtemp(prefix="corpus-gpg-")
        os.chmod(self.home, 0o700)
        atexit.register(self.close)
        with open(os.path.join(self.home, "gpg-agent.conf"), "w") as conf:
            conf.write("s2k-count 65536\n")
        self.keys = {
            name: self._make(name, passphrase)
            for name, passphrase in (("open", ""), ("locked", "corpus pass phrase"), ("other", ""))
        }

    def close(self) -> None:
        """Stop the gpg agent key generation started, and remove the home."""
        subprocess.run(["gpgconf", "--homedir", self.home, "--kill", "gpg-agent"],
                       capture_output=True, check=False)  # fmt: skip
        shutil.rmtree(self.home, ignore_errors=True)

    def _gpg(self, *args: str, data: bytes | None = None, passphrase: str = "") -> bytes:
        cmd = ["gpg", "--homedir", self.home, "--batch", "--yes", "--pinentry-mode", "loopback",
               "--passphrase", passphrase, "--trust-model", "always", *args]  # fmt: skip
        return subprocess.run(cmd, input=data, capture_output=True, check=True).stdout

    def _make(self, name: str, passphrase: str) -> PgpKey:
        email = f"corpus-{name}@example.com"
        self._gpg("--quick-gen-key", email, "ed25519", "cert", "0", passphrase=passphrase)
        listing = self._gpg("--with-colons", "--list-keys", email).decode()
        fpr = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
        self._gpg("--quick-add-key", fpr, "cv25519", "encr", "0", passphrase=passphrase)
        listing = self._gpg("--with-colons", "--list-keys", email).decode()
        sub = next(line.split(":")[4] for line in listing.splitlines() if line.startswith("sub"))
        secret = self._gpg("--armor", "--export-secret-keys", fpr, passphrase=passphrase).decode()
        return PgpKey(name, email, fpr, sub, secret, passphrase)

    def encrypt(
        self, data: bytes, key: str = "open", *, armor: bool = False, compress: str = "zlib",
        mdc: bool = True,
    ) -> bytes:  # fmt: skip
        args = ["--encrypt", "--recipient", self.keys[key].email, "--compress-algo", compress]
        if armor:
            args.append("--armor")
        if not mdc:
            args.append("--rfc2440")  # a Symmetrically Encrypted Data packet: no integrity check
        return self._gpg(*args, data=data)


@functools.cache
def pgp() -> Pgp:
    return Pgp()


def tamper_pgp(message: bytes) -> bytes:
    """Flip one byte well inside the encrypted data packet (after the session-key packet)."""
    return flip(message, len(message) - 25)


def corrupt_armor(armored: bytes) -> bytes:
    lines = armored.decode().splitlines()
    body = next(
        i for i, line in enumerate(lines) if line and i > 1 and not line.startswith(("-", "="))
    )
    lines[body] = lines[body][:10] + ("A" if lines[body][10] != "A" else "B") + lines[body][11:]
    return ("\n".join(lines) + "\n").encode()


# ------------------------------------------------------------------ values used across cases

BIG = {
    "2^53+1": 2**53 + 1,
    "2^63-1": 2**63 - 1,
    "-2^63": -(2**63),
    "2^64": 2**64,
}
D38 = Decimal("99999999999999999999999999999999999999")
D38_10 = Decimal("1234567890123456789012345678.0123456789")
# Negated exactly: unary minus would round to the context's 28 digits.
D38_NEG = D38.copy_negate()
D38_10_NEG = D38_10.copy_negate()
