"""ZIP and TAR archives (.zip, .tar, .tar.gz, .tgz, .tar.bz2): list members, open one member.

Within limits (see limits.py): at most ``max_archive_members`` files; each ZIP member and each
compressed TAR is counted as it decompresses. Members that could escape a directory or are not
plain files (``..``, absolute paths, links, devices, sparse files), and names that appear twice,
make the whole archive refused: which bytes to load would otherwise be a guess.
"""

from __future__ import annotations

import lzma
import stat
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from typing import BinaryIO

from .errors import ReaderError
from .limits import MEMBERS_SETTING, Limits, check_output, current_limits, too_big, too_compressed
from .streams import CHUNK, Bunzip2Stream, GunzipStream, ReadOnlyStream, is_seekable, peek, spool

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2")
# zipfile reads these; other methods get a name in the refusal.
ZIP_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
ZIP_METHODS = {9: "deflate64", 93: "zstd", 95: "xz", 96: "JPEG", 97: "WavPack", 98: "PPMd",
               99: "AES-encrypted"}  # fmt: skip


def archive_kind(name: str) -> str | None:
    """``"zip"``, ``"tar"`` or None for a file name."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.gzip", ".tar.bz2", ".tbz2", ".tbz")):
        return "tar"
    return None


def list_archive_members(stream: BinaryIO, name: str) -> list[str]:
    """The names of the regular files in the archive, in archive order; ReaderError when the
    archive holds too many, unsafe or duplicate members."""
    limits = current_limits()
    if _kind(name) == "zip":
        _check_zip_entry_count(stream, name, limits)
        with _open_zip(stream, name) as archive:
            files = [i for i in archive.infolist() if not i.is_dir()]
            _check_count(name, len(files), limits)
            for info in files:
                _check_zip_member(name, info)
            return _unique(name, [i.filename for i in files])
    names = []
    with _tar_errors(name):
        with _open_tar(stream, name, limits) as tar:
            for entry in tar:
                if entry.isdir():
                    continue
                _check_tar_member(name, entry)
                names.append(entry.name)
                _check_count(name, len(names), limits)
    return _unique(name, names)


def open_archive_member(stream: BinaryIO, name: str, member: str) -> BinaryIO:
    """A readable stream of one member. ZIP needs a seekable stream (else it is spooled to a
    temporary file); TAR is read forward only, so it can stream straight from S3."""
    limits = current_limits()
    if _kind(name) == "zip":
        archive = _open_zip(stream, name)
        try:
            info = archive.getinfo(member)
        except KeyError:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
            raise _missing(name, member, members) from None
        _check_zip_member(name, info)
        _check_zip_readable(name, info, limits)
        try:
            opened = archive.open(info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as e:
            raise _zip_member_error(name, member, f"is corrupt ({e})") from e
        return _ZipMember(opened, info, name, limits)  # type: ignore[arg-type, return-value]
    seen: list[str] = []
    with _tar_errors(name):
        tar = _open_tar(stream, name, limits)
        for entry in tar:
            if entry.name == member and entry.isfile():
                _check_tar_member(name, entry)
                extracted = tar.extractfile(entry)
                assert extracted is not None
                return _TarMember(extracted, tar, name)  # type: ignore[arg-type, return-value]
            if entry.isfile():
                seen.append(entry.name)
    raise _missing(name, member, seen)


# ---------------------------------------------------------------- checks
def _check_count(name: str, count: int, limits: Limits) -> None:
    if count > limits.max_archive_members:
        raise ReaderError.at(
            name,
            "",
            f"the archive holds more than {limits.max_archive_members} files "
            f"(setting {MEMBERS_SETTING})",
        )


def _check_zip_entry_count(stream: BinaryIO, name: str, limits: Limits) -> None:
    """Refuse a ZIP with too many entries from its end record, before zipfile reads (and holds
    in memory) its whole central directory."""
    if not is_seekable(stream):
        return
    try:
        start = stream.tell()
        end = zipfile._EndRecData(stream)  # type: ignore[attr-defined]
        stream.seek(start)
    except (OSError, AttributeError, ValueError, zipfile.BadZipFile):
        return  # zipfile will say what is wrong
    if end:
        _check_count(name, end[zipfile._ECD_ENTRIES_TOTAL], limits)  # type: ignore[attr-defined]


def _unsafe_path(path: str) -> str | None:
    if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
        return "has an absolute path"
    if ".." in path.replace("\\", "/").split("/"):
        return "has a path outside the archive (..)"
    return None


def _refuse(name: str, member: str, problem: str) -> ReaderError:
    return ReaderError.at(name, "", f'member "{member}" {problem}: refused')


def _check_zip_member(name: str, info: zipfile.ZipInfo) -> None:
    problem = _unsafe_path(info.filename)
    mode = info.external_attr >> 16
    if problem is None and stat.S_ISLNK(mode):
        problem = "is a symlink"
    elif problem is None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)):
        problem = "is a device"
    if problem:
        raise _refuse(name, info.filename, problem)


def _check_tar_member(name: str, info: tarfile.TarInfo) -> None:
    problem = _unsafe_path(info.name)
    if problem is None:
        if info.issym():
            problem = "is a symlink"
        elif info.islnk():
            problem = "is a hard link"
        elif info.isdev():
            problem = "is a device"
        elif info.issparse():
            problem = "is a sparse file"
        elif not info.isfile():
            problem = "is not a regular file"
    if problem:
        raise _refuse(name, info.name, problem)


def _unique(name: str, names: list[str]) -> list[str]:
    twice = [(member, n) for member, n in Counter(names).items() if n > 1]
    if twice:
        member, n = twice[0]
        raise ReaderError.at(
            name,
            "",
            f'member "{member}" appears {n} times: refused (which one to load is ambiguous)',
        )
    return names


def _zip_member_error(name: str, member: str, problem: str) -> ReaderError:
    return ReaderError.at(name, "", f"member {member} {problem}")


def _check_zip_readable(name: str, info: zipfile.ZipInfo, limits: Limits) -> None:
    """What the member's headers already say: encrypted, unreadable method, too big."""
    member = info.filename
    if info.flag_bits & 0x1:
        raise _zip_member_error(name, member, "is encrypted: not supported")
    if info.compress_type not in ZIP_READABLE:
        method = ZIP_METHODS.get(info.compress_type, "an unknown")
        raise _zip_member_error(
            name,
            member,
            f"uses {method} compression (method {info.compress_type}), which is not supported",
        )
    declared = info.file_size
    if declared > limits.max_decompressed_bytes:
        raise _zip_member_error(name, member, too_big(limits.max_decompressed_bytes))
    if declared > limits.ratio_after_bytes and (
        declared > limits.max_compression_ratio * max(info.compress_size, 1)
    ):
        raise _zip_member_error(name, member, too_compressed(limits, declared, info.compress_size))


# ---------------------------------------------------------------- opening
def _kind(name: str) -> str:
    kind = archive_kind(name)
    if kind is None:
        raise ReaderError.at(
            name, "", f"not an archive name (expected one of {', '.join(ARCHIVE_SUFFIXES)})"
        )
    return kind


def _open_zip(stream: BinaryIO, name: str) -> zipfile.ZipFile:
    if not is_seekable(stream):
        stream = spool(stream)
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, ValueError, EOFError) as e:
        raise ReaderError.at(name, "", f"bad archive: not a valid ZIP file ({e})") from e


def _open_tar(stream: BinaryIO, name: str, limits: Limits) -> tarfile.TarFile:
    """Forward-only TAR reading; gzip and bzip2 (by magic bytes) are decompressed within the
    limits, with clear errors."""
    head, stream = peek(stream, 4)
    context = "unable to decompress archive: "
    if head[:2] == b"\x1f\x8b":
        stream = GunzipStream(stream, name, context=context, limits=limits)  # type: ignore[assignment]
    elif head[:3] == b"BZh":
        stream = Bunzip2Stream(stream, name, context=context, limits=limits)  # type: ignore[assignment]
    return tarfile.open(fileobj=stream, mode="r|")


def _missing(name: str, member: str, members: Iterable[str]) -> ReaderError:
    members = list(members)
    shown = ", ".join(members[:10]) + (" …" if len(members) > 10 else "")
    return ReaderError.at(
        name, "", f'the archive has no file "{member}" (it has: {shown or "no files"})'
    )


class _ZipMember(ReadOnlyStream):
    """One ZIP member: counted against the limits as it decompresses, its size checked against
    its header at the end, and zipfile's failures turned into ReaderError."""

    def __init__(self, member: zipfile.ZipExtFile, info: zipfile.ZipInfo, name: str, limits):
        self._member = member
        self._info = info
        self._name = name
        self._limits = limits
        self._out = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:  # in chunks, so the limits apply as it grows
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        try:
            data = self._member.read(size)
        except EOFError as e:  # the data ends before the size its header gives
            raise self._error("is corrupt: its size does not match its header") from e
        except zipfile.BadZipFile as e:  # CRC mismatch: zipfile cannot say which lies
            raise self._error(
                "is corrupt: its size or its data does not match its header (CRC check failed)"
            ) from e
        except (zlib.error, lzma.LZMAError, OSError, ValueError) as e:
            raise self._error(f"is corrupt ({e})") from e
        self._out += len(data)
        problem = check_output(self._limits, self._out, self._info.compress_size)
        if problem:
            raise self._error(problem)
        if not data and size != 0 and self._out != self._info.file_size:
            raise self._error("is corrupt: its size does not match its header")
        return data

    def _error(self, problem: str) -> ReaderError:
        return _zip_member_error(self._name, self._info.filename, problem)


class _TarMember(ReadOnlyStream):
    """A tar member stream that keeps its TarFile alive and reports decompression errors."""

    def __init__(self, member: BinaryIO, archive: tarfile.TarFile, name: str) -> None:
        self._member = member
        self._archive = archive
        self._name = name

    def read(self, size: int = -1) -> bytes:
        with _tar_errors(self._name):
            return self._member.read(size)


class _tar_errors:  # noqa: N801 - used like a function
    """Translate tarfile/gzip failures into ReaderError."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, tb: object) -> None:
        if error is None or isinstance(error, ReaderError):
            return
        if isinstance(error, EOFError | zlib.error | tarfile.CompressionError):
            raise ReaderError.at(
                self.name, "", f"unable to decompress archive: truncated or corrupt ({error})"
            ) from error
        if isinstance(error, tarfile.TarError):
            raise ReaderError.at(
                self.name, "", f"bad archive: not a valid TAR file ({error})"
            ) from error
