"""S3 listing and reads for couriers: one page at a time, ranged and streamed GETs.

Every botocore failure leaves this module as an :class:`S3Error` carrying the
``credentials.errors.S3Problem`` that says, in plain words, what went wrong and what to do.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from credentials.errors import S3Problem, describe_s3_error
from feeds.readers.streams import ReadOnlyStream

from .patterns import FilePattern

READ_AHEAD = 1024 * 1024  # a small read fetches this much, so scans do few round trips


class S3Error(Exception):
    """An S3 request failed; ``problem`` has the message and suggestion for the user."""

    def __init__(self, problem: S3Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


OUTSIDE_PREFIX = "outside_prefix"  # S3Problem.code of a key refused by key_in_scope
MAX_KEY_BYTES = 1024  # S3's own limit on a key's length


class Scope(Protocol):
    """Where a courier (or a draft in the new editor) may read: a bucket and a key prefix."""

    bucket: str
    prefix: str


@dataclass(frozen=True)
class Location:
    """A bucket and prefix not (yet) saved as a courier, e.g. a Heap source being set up."""

    bucket: str
    prefix: str


class KeyOutOfScope(S3Error):
    """A key or prefix a user asked for is outside the courier's bucket and prefix.

    An S3Error, so every page and run that reports S3 problems reports this one too."""

    def __init__(self, what: str, value: str, prefix: str, reason: str = "") -> None:
        where = f"this courier's prefix {prefix}" if prefix else "this courier's bucket"
        message = f"the {what} {value} is outside {where}" + (f" ({reason})" if reason else "")
        super().__init__(
            S3Problem(
                code=OUTSIDE_PREFIX,
                message=message + ".",
                suggestion="Choose a file under the courier's prefix, or change the prefix.",
            )
        )
        self.value = value


def key_in_scope(scope: Scope, key: str, *, what: str = "key") -> str:
    """``key`` when it lies under the scope's prefix; else KeyOutOfScope naming both.

    S3 keys are flat strings, so "under the prefix" is a plain string prefix test, as
    ListObjectsV2 applies it. A "." or ".." path segment is refused as well: S3 itself takes
    it literally, but HTTP clients, proxies and S3-compatible stores may resolve it to a key
    above the prefix. ``what`` is "key" or "prefix" (for the message)."""
    prefix = scope.prefix or ""
    if not isinstance(key, str) or (what == "key" and not key):
        raise KeyOutOfScope(what, repr(key), prefix, "not a key")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES or "\x00" in key:
        raise KeyOutOfScope(what, key[:200], prefix, "not a legal S3 key")
    if not key.startswith(prefix):
        raise KeyOutOfScope(what, key, prefix)
    if any(part in (".", "..") for part in key.split("/")):
        raise KeyOutOfScope(what, key, prefix, 'it has a "." or ".." path segment')
    return key


def _translate(exc: BaseException, *, bucket: str | None, key: str | None = None) -> S3Error:
    return S3Error(describe_s3_error(exc, bucket=bucket, key=key))


@dataclass(frozen=True)
class S3File:
    key: str
    size: int
    last_modified: datetime | None
    etag: str

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass
class FolderPage:
    folders: list[str] = field(default_factory=list)  # full prefixes, ending in "/"
    files: list[S3File] = field(default_factory=list)
    next_token: str | None = None


def _file(obj: dict[str, Any]) -> S3File:
    return S3File(
        key=obj["Key"],
        size=int(obj.get("Size", 0)),
        last_modified=obj.get("LastModified"),
        etag=str(obj.get("ETag", "")).strip('"'),
    )


def _list_page(client, bucket: str, token: str | None, **kwargs: Any) -> dict[str, Any]:
    """One ListObjectsV2 call; failures become S3Error with a named problem."""
    if token:
        kwargs["ContinuationToken"] = token
    try:
        return client.list_objects_v2(Bucket=bucket, **kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, bucket=bucket) from exc


def list_folder(
    client, bucket: str, prefix: str = "", *, token: str | None = None, page_size: int = 200
) -> FolderPage:
    """One page of a "folder": its sub-folders and files. Never lists more than one page,
    so a prefix holding 100,000 objects answers as fast as one holding ten."""
    response = _list_page(client, bucket, token, Prefix=prefix, Delimiter="/", MaxKeys=page_size)
    return FolderPage(
        folders=[p["Prefix"] for p in response.get("CommonPrefixes", [])],
        files=[_file(o) for o in response.get("Contents", []) if o["Key"] != prefix],
        next_token=response.get("NextContinuationToken") if response.get("IsTruncated") else None,
    )


def list_prefix(
    client, bucket: str, prefix: str, *, page_size: int = 1000, max_pages: int | None = None
) -> Iterator[S3File]:
    """Every object under ``prefix``, page by page, lazily: a caller that stops early stops
    listing. ``max_pages`` bounds the work for an interactive caller."""
    token: str | None = None
    pages = 0
    while max_pages is None or pages < max_pages:
        pages += 1
        response = _list_page(client, bucket, token, Prefix=prefix, MaxKeys=page_size)
        yield from (_file(o) for o in response.get("Contents", []))
        if not response.get("IsTruncated"):
            return
        token = response.get("NextContinuationToken")


def list_matching(
    client,
    bucket: str,
    pattern: FilePattern,
    day: date | None = None,
    prefix: str = "",
    *,
    page_size: int = 1000,
    max_pages: int | None = None,
) -> Iterator[S3File]:
    """Every object whose full key matches ``pattern`` (for ``day``; None = any date).

    Lists from the pattern's fixed prefix, narrowed by the courier prefix when one contains
    the other (see list_prefix for paging).
    """
    listing = pattern.listing_prefix(day)
    if prefix.startswith(listing):
        listing = prefix
    elif not listing.startswith(prefix):
        return  # the pattern can only name keys outside the courier's prefix
    for obj in list_prefix(client, bucket, listing, page_size=page_size, max_pages=max_pages):
        if pattern.match(obj.key, day):
            yield obj


def head(client, bucket: str, key: str) -> S3File:
    try:
        response = client.head_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, bucket=bucket, key=key) from exc
    return S3File(
        key=key,
        size=int(response.get("ContentLength", 0)),
        last_modified=response.get("LastModified"),
        etag=str(response.get("ETag", "")).strip('"'),
    )


class _Body(ReadOnlyStream):
    """A streaming GET body as a plain readable file; errors become S3Error."""

    def __init__(self, body, bucket: str, key: str) -> None:
        self._body = body
        self._bucket = bucket
        self._key = key

    def read(self, size: int = -1) -> bytes:
        try:
            return self._body.read(None if size is None or size < 0 else size)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket=self._bucket, key=self._key) from exc

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_stream(client, bucket: str, key: str) -> BinaryIO:
    """The object as a forward-only stream (one GET, read as the caller reads)."""
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise _translate(exc, bucket=bucket, key=key) from exc
    return _Body(response["Body"], bucket, key)  # type: ignore[return-value]


class RangedFile(ReadOnlyStream):
    """A seekable, read-only view of an S3 object made of ranged GETs.

    Reads smaller than ``read_ahead`` fetch ``read_ahead`` bytes and serve later reads from
    that buffer, so a sequential scan costs one request per megabyte, while a seek to the end
    (a Parquet footer, a ZIP directory) costs one small request, not the whole object.
    """

    def __init__(
        self,
        client,
        bucket: str,
        key: str,
        size: int | None = None,
        *,
        read_ahead: int = READ_AHEAD,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.size = head(client, bucket, key).size if size is None else size
        self.read_ahead = read_ahead
        self.requests = 0  # how many GETs were made (for tests and benchmarks)
        self._pos = 0
        self._buf = b""
        self._buf_start = 0

    @property
    def name(self) -> str:
        return self.key

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        size = min(size, self.size - self._pos)
        if size <= 0:
            return b""
        start, end = self._pos, self._pos + size
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= start and end <= buf_end:
            data = self._buf[start - self._buf_start : end - self._buf_start]
        else:
            fetch_end = min(max(end, start + self.read_ahead), self.size)
            fetched = self._get(start, fetch_end)
            if len(fetched) > size:  # keep the read-ahead for the next call
                self._buf, self._buf_start = fetched, start
            data = fetched[:size]
        self._pos += len(data)
        return data

    def _get(self, start: int, end: int) -> bytes:
        self.requests += 1
        try:
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end - 1}"
            )
            return response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, bucket=self.bucket, key=self.key) from exc
