"""Read ahead: a thread pulls the next batches (S3 read + decode) while the caller converts and
COPYs the current one. Decoders (polars, pyarrow) and socket reads release the GIL, so on two
cores decode overlaps conversion and Postgres' own work. The queue is small: memory stays flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterable
from typing import TypeVar

T = TypeVar("T")
_END = object()


def prefetched(items: Iterable[T], depth: int = 2) -> Generator[T, None, None]:
    """Yield ``items`` in order, produced by a background thread at most ``depth`` ahead.

    An exception raised by the producer is re-raised here, at the position it happened."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer
            put((_END, exc))
            return
        put((_END, None))

    thread = threading.Thread(target=produce, name="load-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = q.get()
            if exc is not None:
                raise exc
            if item is _END:
                return
            yield item
    finally:
        stop.set()
        thread.join()
        close = getattr(items, "close", None)
        if close is not None:  # a generator's finally (closing its stream) runs now
            close()
