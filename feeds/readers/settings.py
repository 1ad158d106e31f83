"""FileSettings: how to read one file, as inferred and shown (editable) on the review page."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

CSV = "text/csv"
TSV = "text/tab-separated-values"
PSV = "text/pipe-separated-values"
JSON = "application/json"
NDJSON = "application/x-ndjson"
AVRO = "application/avro"
PARQUET = "application/x-parquet"

CONTENT_TYPES: dict[str, str] = {
    CSV: "CSV",
    TSV: "TSV (tab-separated)",
    PSV: "PSV (pipe-separated)",
    JSON: "JSON (array of objects)",
    NDJSON: "NDJSON (one object per line)",
    AVRO: "Avro",
    PARQUET: "Parquet",
}
DELIMITED_TYPES: dict[str, str] = {CSV: ",", TSV: "\t", PSV: "|"}
COMPRESSIONS: dict[str, str] = {"none": "None", "gzip": "GZIP", "bzip2": "BZIP2"}
ENCODINGS: dict[str, str] = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "latin-1": "Latin-1"}


def compression_of(name: str) -> str:
    """The compression a file name says (``.gz``, ``.bz2``), else none."""
    lower = name.lower()
    if lower.endswith((".gz", ".gzip")):
        return "gzip"
    if lower.endswith((".bz2", ".bzip2")):
        return "bzip2"
    return "none"


@dataclass
class FileSettings:
    """How to read a file. Only the delimited types use delimiter/quote/escape/header_rows."""

    content_type: str
    compression: str = "none"
    delimiter: str = ","
    quote: str = '"'
    escape: str | None = None
    header_rows: int = 1
    encoding: str = "utf-8"

    def __post_init__(self) -> None:
        if self.content_type not in CONTENT_TYPES:
            raise ValueError(f"unknown content type {self.content_type!r}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"unknown compression {self.compression!r} (use none, gzip or bzip2)")
        if len(self.delimiter) != 1:
            raise ValueError("the delimiter must be exactly one character")
        if len(self.quote) > 1:
            raise ValueError("the quote character must be one character (or empty for none)")
        if self.escape is not None and len(self.escape) != 1:
            raise ValueError("the escape character must be one character (or none)")
        if self.header_rows < 0:
            raise ValueError("header rows cannot be negative")
        if self.encoding not in ENCODINGS:
            raise ValueError(
                f"unknown encoding {self.encoding!r} (use utf-8, utf-8-sig or latin-1)"
            )

    @property
    def is_delimited(self) -> bool:
        return self.content_type in DELIMITED_TYPES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileSettings:
        """Build from ``to_dict()`` output; unknown keys are ignored, blanks mean defaults."""
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in d.items() if k in known}
        if kwargs.get("escape") == "":
            kwargs["escape"] = None
        if "header_rows" in kwargs:
            kwargs["header_rows"] = int(kwargs["header_rows"])
        return cls(**kwargs)

    def to_land_as(self) -> dict[str, Any]:
        """The Amperity ``file/*`` keys an entities list uses for these settings."""
        out: dict[str, Any] = {"file/content-type": self.content_type}
        if self.is_delimited:
            out["file/header-rows"] = self.header_rows
            out["file/separator"] = self.delimiter
            out["file/quote"] = self.quote
            if self.escape:
                out["file/escape"] = self.escape
        if self.encoding != "utf-8":
            out["file/encoding"] = self.encoding
        return out

    @classmethod
    def from_land_as(cls, land_as: dict[str, Any], *, name: str = "") -> FileSettings:
        """Settings from an entity's ``object/land-as`` keys (compression from the name)."""
        content_type = land_as.get("file/content-type", CSV)
        settings = cls(
            content_type=content_type,
            compression=compression_of(name),
            delimiter=land_as.get("file/separator", DELIMITED_TYPES.get(content_type, ",")),
            quote=land_as.get("file/quote", '"'),
            header_rows=int(land_as.get("file/header-rows", 1)),
            escape=land_as.get("file/escape") or None,
            encoding=land_as.get("file/encoding", "utf-8"),
        )
        return settings


# Limits of the text readers. Each is a Django setting of the same name (read from the
# environment in amperity_sources/settings.py); outside Django the environment is read directly.
LIMIT_DEFAULTS: dict[str, int] = {
    "SOURCES_MAX_JSON_DEPTH": 64,  # nesting of objects/arrays in one JSON record
    "SOURCES_MAX_QUOTED_VALUE_BYTES": 1024 * 1024,  # a quoted CSV value spanning lines
}
# FeedField.incoming holds at most 200 characters: a longer column name could never be mapped.
MAX_COLUMN_NAME_CHARS = 200


def limit(name: str) -> int:
    """The current value of the reader limit ``name`` (see LIMIT_DEFAULTS)."""
    try:
        from django.conf import settings as django_settings

        if django_settings.configured:
            return int(getattr(django_settings, name, LIMIT_DEFAULTS[name]))
    except ImportError:  # pragma: no cover - readers used without Django
        pass
    return int(os.environ.get(name) or LIMIT_DEFAULTS[name])
