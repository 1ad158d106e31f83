"""feed_compare: does a file fit an existing feed ("Use existing feed")? A side-by-side diff."""

from __future__ import annotations

from dataclasses import dataclass, field

from feeds.inference import type_from_arrow_name
from feeds.loader import FIELD_TYPES
from feeds.models import Feed

MATCH = "match"
COMPATIBLE = "compatible"
TYPE_DIFFERS = "different type"
MISSING = "missing from file"
EXTRA = "not in feed"

# Feed type -> file types it loads without loss (text is checked value by value on load).
_LOADS_FROM = {
    "string": set(FIELD_TYPES),
    "float": {"integer", "decimal", "string"},
    "decimal": {"integer", "float", "string"},
    "datetime": {"date", "timestamp", "string"},
    "timestamp": {"date", "datetime", "string"},
    "date": {"string"},
    "time": {"string"},
    "integer": {"string"},
    "boolean": {"string"},
    "bytes": {"string"},
    "json": set(FIELD_TYPES),
}


@dataclass
class DiffRow:
    field: str
    feed_side: str
    file_side: str
    status: str

    @property
    def ok(self) -> bool:
        return self.status in (MATCH, COMPATIBLE)


@dataclass
class FeedDiff:
    feed: Feed
    rows: list[DiffRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.problems


def _feed_type(t: str) -> str:
    """A file column type as a feed type: feed types pass through, Arrow names are mapped."""
    if t in FIELD_TYPES:
        return t
    return type_from_arrow_name(t) or "string"


def feed_compare(*, feed: Feed, columns: list[tuple[str, str]]) -> FeedDiff:
    """Compare a file's (column name, type) pairs with ``feed``.

    Types may be feed types ("integer") or Arrow type names ("int64"); for a text file pass the
    types inferred from its values. The file must have every field of the feed (by incoming name)
    with a type it can load, and every primary key field; extra columns are a mismatch too.
    """
    diff = FeedDiff(feed=feed)
    file_types = {name: _feed_type(t) for name, t in columns}
    fields = list(feed.fields.all())
    incoming = {f.incoming for f in fields}
    for f in fields:
        label = f.name if f.name == f.incoming else f"{f.incoming} → {f.name}"
        feed_side = f"{f.incoming} ({f.get_type_display()})"
        if f.incoming not in file_types:
            diff.rows.append(DiffRow(label, feed_side, "—", MISSING))
            diff.problems.append(f'The file has no column "{f.incoming}".')
            continue
        file_type = file_types[f.incoming]
        file_side = f"{f.incoming} ({file_type.capitalize()})"
        if file_type == f.type:
            status = MATCH
        elif file_type in _LOADS_FROM.get(f.type, ()):
            status = COMPATIBLE
        else:
            status = TYPE_DIFFERS
            diff.problems.append(
                f'Column "{f.incoming}" holds {file_type} values; the feed expects '
                f"{f.get_type_display()}."
            )
        diff.rows.append(DiffRow(label, feed_side, file_side, status))
    for name, _ in columns:
        if name not in incoming:
            diff.rows.append(DiffRow(name, "—", f"{name} ({file_types[name].capitalize()})", EXTRA))
            diff.problems.append(f'The file has a column "{name}" the feed does not have.')
    by_name = {f.name: f.incoming for f in fields}
    key_incoming = [by_name.get(k, k) for k in feed.primary_key]
    present = [k for k in key_incoming if k in file_types]
    key_status = MATCH if present == key_incoming and key_incoming else MISSING
    diff.rows.append(
        DiffRow(
            "Primary key", ", ".join(feed.primary_key) or "—", ", ".join(present) or "—", key_status
        )
    )
    if key_status != MATCH:
        diff.problems.append("The file does not have every primary key field of the feed.")
    return diff
