"""Reading a feed's sample: its settings, schema, first rows, and what fields it suggests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from feeds import readers
from feeds.inference import infer_fields, unique_renames
from feeds.readers import FileSettings, ReaderError
from feeds.samples import SampleError, open_sample
from feeds.tags import suggest_tag

from .errors import FeedError

SAMPLE_ROWS = 200
HEAD_BYTES = 64 * 1024

logger = logging.getLogger(__name__)


class UnreadableFile(FeedError):
    """A reader failed on the file in a way it did not foresee (a page answers 422)."""


@contextmanager
def _reading(name: str) -> Iterator[None]:
    """Reading a user's file: every failure becomes a FeedError whose message names it.

    ReaderError and SampleError already say what and where; anything else is a reader's
    unforeseen failure: logged with its traceback, reported as UnreadableFile."""
    try:
        yield
    except FeedError:
        raise
    except (SampleError, ReaderError) as exc:
        raise FeedError(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - a user's file must not take the page down
        logger.exception("reading the sample file %s failed unexpectedly", name)
        raise UnreadableFile(f"This file cannot be read: {type(exc).__name__}: {exc}") from exc


@dataclass
class SuggestedField:
    incoming: str
    name: str
    type: str
    precision: int | None
    scale: int | None
    semantic_tag: str


def read_head(stream: BinaryIO, n: int = HEAD_BYTES) -> bytes:
    head = b""
    while len(head) < n and (chunk := stream.read(n - len(head))):
        head += chunk
    return head


def sample_settings(ref: dict, file_settings: dict | None = None) -> FileSettings:
    """How to read the sample: as given, as its ref says, or inferred from its first bytes."""
    given = file_settings or ref.get("file_settings")
    if given:
        try:
            return FileSettings.from_dict(given)
        except (ValueError, TypeError) as exc:
            raise FeedError(
                f"The file settings of {ref.get('name', 'the sample')} are wrong: {exc}"
            ) from exc
    with _reading(ref.get("name", "")):
        stream, name = open_sample(ref)
        with stream:
            return readers.infer_settings(name, read_head(stream))


def _suggest(reader: readers.Reader, namespace: str) -> list[SuggestedField]:
    """Types as the review preview infers them (same rows, same rules); short, unique names."""
    batch = next(reader.batches(), None)
    inferred = infer_fields(reader.schema, batch)
    names = unique_renames([f.name for f in inferred])
    return [
        SuggestedField(
            incoming=f.name,
            name=rename,
            type=f.type,
            precision=f.precision,
            scale=f.scale,
            semantic_tag=suggest_tag(f.name, namespace=namespace),
        )
        for f, rename in zip(inferred, names, strict=True)
    ]


def file_columns(*, stream: BinaryIO, name: str, file_settings: dict) -> list[tuple[str, str]]:
    """(column, feed type) of a file, types inferred from its first 200 rows: what
    feed_compare takes for "Use existing feed". Raises FeedError if it cannot be read."""
    try:
        settings = FileSettings.from_dict(file_settings)
    except (ValueError, TypeError) as exc:
        raise FeedError(f"The file settings of {name} are wrong: {exc}") from exc
    with _reading(name):
        with readers.open_reader(stream, name, settings, batch_rows=SAMPLE_ROWS) as reader:
            return [(f.incoming, f.type) for f in _suggest(reader, "")]


def suggest_fields(
    ref: dict, settings: FileSettings, *, namespace: str = ""
) -> list[SuggestedField]:
    """One field per sample column: type from its Arrow type or its first 200 values, and tag."""
    with _reading(ref.get("name", "")):
        stream, name = open_sample(ref)
        with stream, readers.open_reader(stream, name, settings, batch_rows=SAMPLE_ROWS) as reader:
            return _suggest(reader, namespace)


def sample_preview(ref: dict, settings: dict) -> readers.Preview:
    """Up to 200 rows of the sample, as text; raises FeedError if it cannot be read."""
    try:
        file_settings = FileSettings.from_dict(settings)
    except (ValueError, TypeError) as exc:
        raise FeedError(
            f"The file settings of {ref.get('name', 'the sample')} are wrong: {exc}"
        ) from exc
    with _reading(ref.get("name", "")):
        stream, name = open_sample(ref)
        with stream:
            return readers.preview(stream, name, file_settings, limit=SAMPLE_ROWS)
