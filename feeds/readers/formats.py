"""open_reader: pick the reader for a content type, after gzip decompression."""

from __future__ import annotations

from typing import BinaryIO

from .avro_fast import open_avro_fast
from .avro_reader import open_avro
from .base import Reader
from .csv_reader import open_csv
from .errors import ReaderError
from .json_reader import open_json
from .parquet_reader import open_parquet
from .settings import AVRO, JSON, NDJSON, PARQUET, FileSettings
from .streams import decompressed


def open_reader(
    stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int = 16_384
) -> Reader:
    """A streaming reader for ``stream`` (the raw, possibly gzip-compressed file).

    The default batch size suits loads: bigger batches only raise the loader's peak memory.

    ``stream`` may be non-seekable, except that Parquet needs seek/tell (a non-seekable
    Parquet stream is spooled to a temporary file first).
    """
    return _open_decompressed(
        decompressed(stream, name, settings.compression),
        name,
        settings,
        batch_rows=batch_rows,
        fast_avro=True,
    )


def _open_decompressed(
    stream: BinaryIO,
    name: str,
    settings: FileSettings,
    *,
    batch_rows: int,
    block_size: int = 4 * 1024 * 1024,
    fast_avro: bool = False,
) -> Reader:
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if settings.is_delimited:
        return open_csv(
            stream,
            name,
            settings,
            batch_rows=batch_rows,
            block_size=block_size,
        )
    if settings.content_type in (JSON, NDJSON):
        return open_json(
            stream, name, settings, batch_rows=batch_rows, lines=settings.content_type == NDJSON
        )
    if settings.content_type == AVRO:
        if fast_avro:  # loads decode column-wise (polars); previews keep fastavro
            return open_avro_fast(stream, name, settings, batch_rows=batch_rows)
        return open_avro(stream, name, settings, batch_rows=batch_rows)
    if settings.content_type == PARQUET:
        return open_parquet(stream, name, settings, batch_rows=batch_rows)
    raise ReaderError.at(name, "", f"unsupported content type {settings.content_type!r}")
