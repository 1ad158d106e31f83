"""Create a Heap courier and one draft feed per chosen table (reviewed in the Feed Editor)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from couriers.models import Courier
from couriers.services.couriers import courier_problems
from credentials.models import Credential
from feeds.models import Feed
from feeds.readers.settings import AVRO
from feeds.services import FeedError, feed_create, feed_update_fields

from .discovery import HeapColumn, HeapTable

DATA_SOURCE = "Heap"
PROFILE_TAGS = {"email": "email", "joindate": "create-dt", "last_modified": "update-dt"}
USER_FK_TAG = "fk-heap-user"
# Columns holding a Heap user id (a foreign key to users) besides the users table's own key.
USER_ID_COLUMNS = ("user_id", "to_user_id")


def feed_name(table: str) -> str:
    """``users`` → ``Users``, ``sign_up_click_link`` → ``Sign up click link``."""
    return table.replace("_", " ").capitalize()


def suggested_tag(table: str, column: str, key: str) -> str:
    if column == key:
        return "pk"
    if column in USER_ID_COLUMNS:
        return USER_FK_TAG
    if table == "users":
        return PROFILE_TAGS.get(column, "")
    return ""


def field_rows(table: HeapTable, columns: list[HeapColumn] | None = None) -> list[dict]:
    """Feed Editor rows for ``columns`` (default: all of the table's)."""
    return [
        {
            "incoming": c.name,
            "name": c.name,
            "type": c.type,
            "precision": c.precision,
            "scale": c.scale,
            "semantic_tag": suggested_tag(table.name, c.name, table.key),
            "required": c.name == table.key,
        }
        for c in (table.columns if columns is None else columns)
    ]


def heap_feed_create(*, table: HeapTable, data_source: str = DATA_SOURCE) -> Feed:
    """A draft feed for one Heap table: key, types, tags, last-updated field, Stitch."""
    feed = feed_create(
        data_source_name=data_source,
        name=feed_name(table.name),
        sample={},
        file_settings={},
        load_sample_on_activation=False,
    )
    feed.file_settings = {"content_type": AVRO}
    feed.save(update_fields=["file_settings"])
    is_users = table.name == "users"
    last_updated = "last_modified" if is_users and "last_modified" in table.column_names else ""
    return feed_update_fields(
        feed=feed,
        fields=field_rows(table),
        primary_key=[table.key] if table.key in table.column_names else [],
        last_updated_field=last_updated,
        stitch=is_users,
    )


@transaction.atomic
def heap_courier_create(
    *,
    name: str,
    credential: Credential,
    bucket: str,
    prefix: str,
    tables: list[HeapTable],
    data_source: str = DATA_SOURCE,
) -> Courier:
    """The Heap courier plus a draft feed per table; its load operations map feed → table.

    Raises ValidationError keyed by form field (name, credential, bucket, prefix, tables,
    data_source)."""
    problems = courier_problems(
        name=name, credential=credential, bucket=bucket, prefix=prefix, entities=[],
        load_operations={},
    )  # fmt: skip
    # A Heap courier has no entities list: its manifests say which files to pull.
    problems.pop("entities", None)
    problems.pop("load_operations", None)
    if not tables:
        problems.setdefault("tables", []).append("Choose at least one table to load.")
    if problems:
        raise ValidationError(problems)
    operations: dict[str, list[dict]] = {}
    for table in tables:
        try:
            feed = heap_feed_create(table=table, data_source=data_source)
        except FeedError as exc:
            raise ValidationError({"data_source": [str(exc)]}) from None
        operations[feed.pk] = [{"type": "load", "file": table.name}]
    return Courier.objects.create(
        name=name.strip(),
        kind=Courier.Kind.HEAP,
        credential=credential,
        bucket=bucket.strip(),
        prefix=prefix.strip(),
        entities=[],
        load_operations=operations,
    )


def heap_feeds(courier: Courier) -> dict[str, Feed]:
    """{Heap table name: feed} from the courier's load operations (missing feeds left out)."""
    tables = {
        feed_id: op.get("file")
        for feed_id, ops in (courier.load_operations or {}).items()
        for op in ops
        if op.get("type") == "load"
    }
    feeds = Feed.objects.select_related("data_source").in_bulk(list(tables))
    return {tables[fid]: feed for fid, feed in feeds.items()}


def heap_feeds_activate(*, courier: Courier) -> list[tuple[Feed, str]]:
    """Activate every draft feed of the courier; returns (feed, problem) for those that failed."""
    from feeds.services import feed_activate

    failed: list[tuple[Feed, str]] = []
    for feed in heap_feeds(courier).values():
        if feed.status == Feed.Status.ACTIVE:
            continue
        try:
            feed_activate(feed=feed)
        except FeedError as exc:  # invalid, or a purge to confirm: the user fixes it
            failed.append((feed, str(exc)))
    return failed
