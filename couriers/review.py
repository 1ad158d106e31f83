"""Review a file in a bucket: its inferred settings and first rows, reading only its start.

The object is read through :class:`couriers.s3.RangedFile` (seekable, so Parquet footers and
ZIP directories cost one small request); a ``.pgp`` object is streamed through gpg first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, BinaryIO

from credentials.models import Credential
from credentials.services import credential_secrets
from feeds.inference import InferredField, infer_fields
from feeds.readers import (
    FileSettings,
    Preview,
    ReaderError,
    archive_kind,
    decrypt_pgp,
    infer_settings,
    list_archive_members,
    open_archive_member,
    preview,
)
from feeds.readers.streams import is_seekable, peek

from .s3 import RangedFile, S3Error, head

HEAD_BYTES = 64 * 1024
PGP_SUFFIXES = (".pgp", ".gpg")
# Decrypting means reading the whole object: cap it, as Amperity does for encrypted previews.
PGP_PREVIEW_LIMIT = 500 * 1024 * 1024
UNREADABLE = 422  # the status of a file a reader failed on in a way it did not foresee

logger = logging.getLogger(__name__)


@dataclass
class FileReview:
    key: str
    size: int = 0
    name: str = ""  # what is read: the key, minus .pgp, or the archive member
    members: list[str] = field(default_factory=list)  # an archive's files
    member: str = ""
    inferred: FileSettings | None = None
    settings: FileSettings | None = None
    preview: Preview | None = None
    error: str = ""  # what went wrong, in words (file, position, likely cause)
    status: int = 200  # the HTTP status a page answers with (4xx with ``error``)

    @cached_property
    def fields(self) -> list[InferredField]:
        """The feed type of each column, inferred from the rows shown (as Add Feed does)."""
        if self.preview is None or self.preview.schema is None:
            return []
        return infer_fields(self.preview.schema, self.preview.sample)

    @property
    def columns(self) -> list[tuple[str, str]]:
        if self.preview is None:
            return []
        return list(zip(self.preview.columns, self.preview.types, strict=False))


def is_pgp(key: str) -> bool:
    return key.lower().endswith(PGP_SUFFIXES)


def _strip_pgp(key: str) -> str:
    lower = key.lower()
    for suffix in PGP_SUFFIXES:
        if lower.endswith(suffix):
            return key[: -len(suffix)]
    return key


def open_object(
    client, bucket: str, key: str, *, size: int | None = None, pgp: Credential | None = None
) -> tuple[BinaryIO, str]:
    """A seekable stream of the object's content (decrypted if ``.pgp``) and its name."""
    if not is_pgp(key):
        return RangedFile(client, bucket, key, size), key  # type: ignore[return-value]
    if pgp is None:
        raise ReaderError.at(
            key, "", "PGP error: the file is encrypted; choose the courier's PGP credential"
        )
    ranged = RangedFile(client, bucket, key, size)
    if ranged.size > PGP_PREVIEW_LIMIT:
        raise ReaderError.at(key, "", "PGP-encrypted files over 500 MB cannot be previewed")
    secrets = credential_secrets(pgp)
    plain = decrypt_pgp(ranged, secrets.get("private_key", ""), secrets.get("passphrase"), name=key)
    return plain, _strip_pgp(key)


def _head(stream: BinaryIO) -> tuple[bytes, BinaryIO]:
    """The first bytes, leaving ``stream`` usable from the start (seekable stays seekable)."""
    if is_seekable(stream):
        start = stream.tell()
        data = stream.read(HEAD_BYTES)
        stream.seek(start)
        return data, stream
    return peek(stream, HEAD_BYTES)


def review_file(
    *,
    client,
    bucket: str,
    key: str,
    settings: dict[str, Any] | None = None,
    member: str = "",
    pgp: Credential | None = None,
    limit: int = 200,
) -> FileReview:
    """Infer how to read ``key`` and preview it; ``settings`` (FileSettings fields) override
    the inferred ones. Problems end up in ``FileReview.error`` (and a 4xx ``status``), never
    raised: not even an exception a reader did not foresee, which is logged with its traceback
    and shown as "This file cannot be read: <class>: <message>"."""
    review = FileReview(key=key, name=key, member=member)
    try:
        review.size = head(client, bucket, key).size
        stream, name = open_object(client, bucket, key, size=review.size, pgp=pgp)
        review.name = name
        if archive_kind(name):
            review.members = list_archive_members(stream, name)
            if not review.members:
                raise ReaderError.at(name, "", "bad archive: it holds no files")
            if review.member not in review.members:
                review.member = review.members[0]
            stream.seek(0)
            stream = open_archive_member(stream, name, review.member)
            name = review.name = review.member
        head_bytes, stream = _head(stream)
        review.inferred = infer_settings(name, head_bytes)
        review.settings = review.inferred
        if settings:
            try:
                review.settings = FileSettings.from_dict({**review.inferred.to_dict(), **settings})
            except (ValueError, TypeError) as exc:
                review.error, review.status = f"Settings: {exc}.", 400
                return review
        review.preview = preview(stream, name, review.settings, limit=limit)
    except S3Error as exc:
        review.error, review.status = str(exc.problem), 400
    except ReaderError as exc:
        review.error, review.status = str(exc), 400
    except Exception as exc:  # noqa: BLE001 - a user's file must not take the page down
        logger.exception("reviewing %s (member %r) failed unexpectedly", key, review.member)
        review.error = f"This file cannot be read: {type(exc).__name__}: {exc}"
        review.status = UNREADABLE
    if review.error:
        review.preview = None
    return review
