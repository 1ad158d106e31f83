"""Readers: turn a file stream (CSV/TSV/PSV, JSON, NDJSON, Avro, Parquet) into arrow batches.

Pure Python + pyarrow/fastavro; no Django, boto3, Celery or couriers. Shared by the review
page (``infer_settings`` + ``preview``) and the loader (``open_reader``).
"""

from .archives import archive_kind, list_archive_members, open_archive_member
from .base import Reader, rebatch
from .errors import ReaderError
from .formats import open_reader
from .infer import infer_settings
from .pgp import decrypt_pgp
from .preview import Preview, preview
from .settings import (
    COMPRESSIONS,
    CONTENT_TYPES,
    DELIMITED_TYPES,
    ENCODINGS,
    FileSettings,
)

__all__ = [
    "COMPRESSIONS",
    "CONTENT_TYPES",
    "DELIMITED_TYPES",
    "ENCODINGS",
    "FileSettings",
    "Preview",
    "Reader",
    "ReaderError",
    "archive_kind",
    "decrypt_pgp",
    "infer_settings",
    "list_archive_members",
    "open_archive_member",
    "open_reader",
    "preview",
    "rebatch",
]
