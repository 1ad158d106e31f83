"""ZIP and TAR archives (.zip, .tar, .tar.gz, .tgz): list members, open one member."""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from typing import BinaryIO

from .errors import ReaderError
from .streams import GunzipStream, ReadOnlyStream, is_seekable, peek, spool

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")


def archive_kind(name: str) -> str | None:
    """``"zip"``, ``"tar"`` or None for a file name."""
    lower = name.lower()
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith((".tar", ".tar.gz", ".tgz", ".tar.gzip")):
        return "tar"
    return None


def list_archive_members(stream: BinaryIO, name: str) -> list[str]:
    """The names of the regular files in the archive, in archive order."""
    kind = _kind(name)
    if kind == "zip":
        with _open_zip(stream, name) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir()]
    names = []
    with _tar_errors(name):
        with _open_tar(stream, name) as archive:
            for info in archive:
                if info.isfile():
                    names.append(info.name)
    return names


def open_archive_member(stream: BinaryIO, name: str, member: str) -> BinaryIO:
    """A readable stream of one member. ZIP needs a seekable stream (else it is spooled to a
    temporary file); TAR is read forward only, so it can stream straight from S3."""
    kind = _kind(name)
    if kind == "zip":
        archive = _open_zip(stream, name)
        try:
            return archive.open(member)  # type: ignore[return-value]
        except KeyError:
            members = [i.filename for i in archive.infolist() if not i.is_dir()]
            raise _missing(name, member, members) from None
    seen: list[str] = []
    with _tar_errors(name):
        archive = _open_tar(stream, name)
        for info in archive:
            if info.name == member and info.isfile():
                extracted = archive.extractfile(info)
                assert extracted is not None
                return _TarMember(extracted, archive, name)  # type: ignore[return-value]
            if info.isfile():
                seen.append(info.name)
    raise _missing(name, member, seen)


class _TarMember(ReadOnlyStream):
    """A tar member stream that keeps its TarFile alive and reports decompression errors."""

    def __init__(self, member: BinaryIO, archive: tarfile.TarFile, name: str) -> None:
        self._member = member
        self._archive = archive
        self._name = name

    def read(self, size: int = -1) -> bytes:
        with _tar_errors(self._name):
            return self._member.read(size)


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
    except zipfile.BadZipFile as e:
        raise ReaderError.at(name, "", f"bad archive: not a valid ZIP file ({e})") from e


def _open_tar(stream: BinaryIO, name: str) -> tarfile.TarFile:
    """Forward-only TAR reading; gzip (by magic bytes) is decompressed with clear errors."""
    head, stream = peek(stream, 2)
    if head == b"\x1f\x8b":
        stream = GunzipStream(stream, name, context="unable to decompress archive: ")  # type: ignore[assignment]
    return tarfile.open(fileobj=stream, mode="r|")


def _missing(name: str, member: str, members: list[str]) -> ReaderError:
    shown = ", ".join(members[:10]) + (" …" if len(members) > 10 else "")
    return ReaderError.at(
        name, "", f'the archive has no file "{member}" (it has: {shown or "no files"})'
    )


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
