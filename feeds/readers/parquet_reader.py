"""Parquet via pyarrow: needs a seekable stream (the footer is at the end).

A non-seekable or gzip-compressed stream is spooled to a temporary file on disk first.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from .base import Reader
from .errors import ReaderError
from .settings import FileSettings
from .streams import is_seekable, spool

MAGIC = b"PAR1"


def open_parquet(stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int) -> Reader:
    if not is_seekable(stream):
        stream = spool(stream)
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    if head != MAGIC:
        hint = " (it looks like Avro)" if head == b"Obj\x01" else ""
        raise ReaderError.at(
            name,
            "byte 0",
            f'not a Parquet file (no "PAR1" header){hint} — is the content type right?',
        )
    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as e:
        raise ReaderError.at(
            name, "footer", f"cannot read the Parquet footer — is the file complete? ({e})"
        ) from e

    def batches() -> Iterator[pa.RecordBatch]:
        for row_group in range(parquet.num_row_groups):
            try:
                yield from parquet.iter_batches(batch_size=batch_rows, row_groups=[row_group])
            except (pa.ArrowException, OSError) as e:
                raise ReaderError.at(
                    name, f"row group {row_group}", f"corrupt Parquet data ({e})"
                ) from e

    return Reader(parquet.schema_arrow, batches(), batch_rows=batch_rows, close=parquet.close)
