"""Creating, editing and copying feeds (the model side; no domain table is touched here)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from feeds.models import DataSource, Feed, FeedField
from feeds.tags import normalise

from .errors import FeedError
from .sample import sample_settings, suggest_fields

# user_id last: in event tables it is a foreign key, the event_id is the key.
KEY_NAMES = ("id", "event_id", "session_id", "customer_id", "user_id")


def _namespace(data_source: str) -> str:
    return normalise(data_source).replace("_", "-")


def _guess_primary_key(fields: list[Any], feed_name: str) -> list[str]:
    """A likely key: "<feed>_id" (users -> user_id), then the usual id names."""
    names = [f.name for f in fields]
    singular = normalise(feed_name).removesuffix("s")
    for candidate in (f"{singular}_id", *KEY_NAMES):
        if candidate in names:
            return [candidate]
    return []


@transaction.atomic
def feed_create(
    *,
    data_source_name: str,
    name: str,
    sample: dict,
    file_settings: dict,
    load_sample_on_activation: bool,
) -> Feed:
    """A draft feed; with a sample, one field per sample column (type, rename, tag suggested)."""
    data_source_name, name = data_source_name.strip(), name.strip()
    if not data_source_name:
        raise FeedError("Give the data source a name.")
    if not name:
        raise FeedError("Give the feed a name.")
    if ":" in data_source_name or ":" in name:
        raise FeedError('Names cannot contain ":" (the table is named "<Data source>:<Feed>").')
    if len(f"{data_source_name}:{name}".encode()) > 63:
        raise FeedError("The table name <Data source>:<Feed name> is longer than 63 characters.")
    source, _ = DataSource.objects.get_or_create(name=data_source_name)
    if Feed.objects.filter(data_source=source, name=name).exists():
        raise FeedError(f'The data source {source.name} already has a feed named "{name}".')
    suggested, settings = [], {}
    if sample:
        file = sample_settings(sample, file_settings)
        settings = file.to_dict()
        suggested = suggest_fields(sample, file, namespace=_namespace(source.name))
    primary_key = _guess_primary_key(suggested, name)
    feed = Feed.objects.create(
        data_source=source,
        name=name,
        sample=sample or {},
        file_settings=settings,
        load_sample_on_activation=bool(sample) and load_sample_on_activation,
        primary_key=primary_key,
    )
    FeedField.objects.bulk_create(
        FeedField(
            feed=feed,
            position=i,
            incoming=s.incoming,
            name=s.name,
            type=s.type,
            precision=s.precision,
            scale=s.scale,
            semantic_tag="pk" if [s.name] == primary_key else s.semantic_tag,
            required=s.name in primary_key,
        )
        for i, s in enumerate(suggested)
    )
    return feed


def _int_or_none(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


@transaction.atomic
def feed_update_fields(
    *,
    feed: Feed,
    fields: list[dict[str, Any]],
    primary_key: list[str],
    last_updated_field: str | None = None,
    stitch: bool | None = None,
    error_threshold: float | None = None,
    load_sample_on_activation: bool | None = None,
) -> Feed:
    """Replace the feed's fields and settings. ``fields``: dicts with incoming, name (blank =
    keep the incoming name), type, precision, scale, semantic_tag, required. A setting left
    None keeps its value. Saved as given: feed_validate says what must change to activate."""
    rows = []
    for i, f in enumerate(fields):
        incoming = str(f.get("incoming", "")).strip()
        rows.append(
            FeedField(
                feed=feed,
                position=i,
                incoming=incoming,
                name=str(f.get("name") or "").strip() or incoming,
                type=f.get("type") or FeedField.Type.STRING,
                precision=_int_or_none(f.get("precision")),
                scale=_int_or_none(f.get("scale")),
                semantic_tag=str(f.get("semantic_tag") or "").strip(),
                required=bool(f.get("required")),
            )
        )
    feed.fields.all().delete()
    FeedField.objects.bulk_create(rows)
    feed.primary_key = list(dict.fromkeys(primary_key))
    if last_updated_field is not None:
        feed.last_updated_field = last_updated_field
    if stitch is not None:
        feed.stitch = stitch
    if error_threshold is not None:
        feed.error_threshold = error_threshold
    if load_sample_on_activation is not None:
        feed.load_sample_on_activation = bool(feed.sample) and load_sample_on_activation
    feed.save()
    return feed


@transaction.atomic
def feed_copy(*, feed: Feed, name: str = "") -> Feed:
    """A draft copy of ``feed`` (same data source, fields and settings, no table yet)."""
    base = name.strip() or f"{feed.name} copy"
    candidate, n = base, 2
    while Feed.objects.filter(data_source=feed.data_source, name=candidate).exists():
        if name.strip():
            raise FeedError(f'The data source already has a feed named "{candidate}".')
        candidate, n = f"{base} {n}", n + 1
    fields = list(feed.fields.all())
    copy = Feed.objects.create(
        data_source=feed.data_source,
        name=candidate,
        primary_key=list(feed.primary_key),
        last_updated_field=feed.last_updated_field,
        stitch=feed.stitch,
        error_threshold=feed.error_threshold,
        file_settings=dict(feed.file_settings),
        sample=dict(feed.sample),
        load_sample_on_activation=feed.load_sample_on_activation,
    )
    for f in fields:
        f.pk, f.feed = None, copy
    FeedField.objects.bulk_create(fields)
    return copy
