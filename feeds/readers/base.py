"""Reader: a declared schema plus a one-shot stream of record batches of bounded size."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa


class Reader:
    """What ``open_reader`` returns.

    ``schema`` is known before any batch is read. ``batches()`` streams the file once, yielding
    batches of exactly ``batch_rows`` rows (the last one may be smaller). ``rows_read`` counts
    rows yielded so far (handy for progress and error thresholds).
    """

    def __init__(
        self,
        schema: pa.Schema,
        source: Iterable[pa.RecordBatch],
        *,
        batch_rows: int,
        close: Callable[[], None] | None = None,
    ) -> None:
        self.schema = schema
        self.batch_rows = batch_rows
        self.rows_read = 0
        self._source: Iterable[pa.RecordBatch] | None = source
        self._close = close

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._source is None:
            raise RuntimeError("Reader.batches() can be iterated only once")
        source, self._source = self._source, None
        try:
            for batch in rebatch(source, self.batch_rows):
                self.rows_read += batch.num_rows
                yield batch
        finally:
            self.close()

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rebatch(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    """Re-cut batches of any size into batches of ``size`` rows (zero-copy slices + concat)."""
    if size < 1:
        raise ValueError("batch_rows must be at least 1")
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        while batch.num_rows:
            take = min(size - count, batch.num_rows)
            pending.append(batch.slice(0, take))
            count += take
            batch = batch.slice(take)
            if count == size:
                yield _concat(pending)
                pending, count = [], 0
    if count:
        yield _concat(pending)


def _concat(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    return parts[0] if len(parts) == 1 else pa.concat_batches(parts)
