"""Reading a feed's sample: its settings, schema, first rows, and what fields it suggests."""

from __future__ import annotations

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
    try:
        if given:
            return FileSettings.from_dict(given)
        stream, name = open_sample(ref)
        with stream:
            return readers.infer_settings(name, read_head(stream))
    except (ValueError, TypeError) as exc:
        raise FeedError(
            f"The file settings of {ref.get('name', 'the sample')} are wrong: {exc}"
        ) from exc
    except (SampleError, ReaderError) as exc:
        raise FeedError(str(exc)) from exc


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
        with readers.open_reader(stream, name, settings, batch_rows=SAMPLE_ROWS) as reader:
            return [(f.incoming, f.type) for f in _suggest(reader, "")]
    except (ReaderError, ValueError) as exc:
        raise FeedError(str(exc)) from exc


def suggest_fields(
    ref: dict, settings: FileSettings, *, namespace: str = ""
) -> list[SuggestedField]:
    """One field per sample column: type from its Arrow type or its first 200 values, and tag."""
    try:
        stream, name = open_sample(ref)
        with stream, readers.open_reader(stream, name, settings, batch_rows=SAMPLE_ROWS) as reader:
            return _suggest(reader, namespace)
    except (SampleError, ReaderError) as exc:
        raise FeedError(str(exc)) from exc


def sample_preview(ref: dict, settings: dict) -> readers.Preview:
    """Up to 200 rows of the sample, as text; raises FeedError if it cannot be read."""
    try:
        stream, name = open_sample(ref)
        with stream:
            return readers.preview(
                stream, name, FileSettings.from_dict(settings), limit=SAMPLE_ROWS
            )
    except (SampleError, ReaderError, ValueError) as exc:
        raise FeedError(str(exc)) from exc
