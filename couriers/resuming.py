"""A streamed GET that survives a connection broken mid-body.

botocore retries a request that fails, but not the read of a body it has already handed
over: a reset at byte 3,000,000 of a 5 MB object would end the load. This stream asks again
from the byte where it broke off (a ranged GET, If-Match the ETag that was landed, so the
bytes are of the same object version), and checks that it received the whole object: it
never ends early, so a load never takes a silently truncated file.
"""

from __future__ import annotations

import logging
import time

import urllib3.exceptions
from botocore.exceptions import BotoCoreError, ClientError

from credentials.errors import S3Problem, describe_s3_error
from feeds.readers.streams import ReadOnlyStream

from .s3 import S3Error

logger = logging.getLogger(__name__)
MAX_RESUMES = 5
RESUME_PAUSE = 0.2  # seconds, doubled on each resume of one object
BROKEN = (BotoCoreError, OSError, urllib3.exceptions.HTTPError)


class ResumingStream(ReadOnlyStream):
    def __init__(self, client, bucket: str, key: str, *, etag: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.etag = etag
        self.resumes = 0
        self._pos = 0
        self._size: int | None = None
        self._body = None
        self._open()

    @property
    def name(self) -> str:
        return self.key

    def tell(self) -> int:
        return self._pos

    def _open(self) -> None:
        kwargs = {"Bucket": self.bucket, "Key": self.key}
        if self.etag:
            kwargs["IfMatch"] = f'"{self.etag}"'
        if self._pos:
            kwargs["Range"] = f"bytes={self._pos}-"
        try:
            response = self.client.get_object(**kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise S3Error(
                    S3Problem(
                        "changed",
                        f"{self.key} changed in the bucket after it was landed.",
                        "Run the courier again to land and load the new version.",
                    )
                ) from exc
            raise S3Error(describe_s3_error(exc, bucket=self.bucket, key=self.key)) from exc
        except BotoCoreError as exc:
            raise S3Error(describe_s3_error(exc, bucket=self.bucket, key=self.key)) from exc
        if self._size is None:
            self._size = int(response.get("ContentLength", 0))
        self._body = response["Body"]

    def _resume(self, exc: BaseException | None) -> None:
        if self.resumes >= MAX_RESUMES:
            problem = (
                describe_s3_error(exc, bucket=self.bucket, key=self.key)
                if exc is not None
                else S3Problem(
                    "server_error",
                    f"{self.key}: the storage endpoint kept ending the file early "
                    f"(at byte {self._pos:,} of {self._size:,}).",
                    "This is usually temporary; try again.",
                    transient=True,
                )
            )
            raise S3Error(problem) from exc
        self.resumes += 1
        logger.warning(
            "s3://%s/%s broke off at byte %d (%s); resuming",
            self.bucket, self.key, self._pos, type(exc).__name__ if exc else "ended early",
        )  # fmt: skip
        try:
            self._body.close()
        except Exception:  # the connection is already broken
            pass
        time.sleep(RESUME_PAUSE * 2 ** (self.resumes - 1))
        self._open()

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                data = self._body.read(None if size is None or size < 0 else size)
            except BROKEN as exc:
                self._resume(exc)
                continue
            if not data and size != 0 and self._pos < (self._size or 0):
                self._resume(None)  # ended before the length it announced
                continue
            self._pos += len(data)
            return data

    def close(self) -> None:
        if not self.closed and self._body is not None:
            self._body.close()
        super().close()
