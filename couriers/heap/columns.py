"""New Heap columns (a new Heap property in a later dump): find them, add them to the feeds."""

from __future__ import annotations

from django.db import transaction

from couriers.models import Courier, HeapDump
from credentials.services import s3_client
from feeds.models import Feed
from feeds.services import FeedError, feed_activate, feed_update_fields

from .discovery import DiscoveryError, HeapColumn, HeapTable, inspect_avro, table_key
from .manifests import ManifestError, manifest_read
from .setup import field_rows, heap_feeds


def heap_pending_columns(courier: Courier) -> dict[str, list[tuple[str, int]]]:
    """{table: [(column, first dump carrying it)]} for loaded columns no feed field reads."""
    feeds = heap_feeds(courier)
    known = {table: {f.incoming for f in feed.fields.all()} for table, feed in feeds.items()}
    pending: dict[str, dict[str, int]] = {}
    for dump in HeapDump.objects.filter(courier=courier).order_by("dump_id"):
        for table, info in (dump.tables or {}).items():
            if table not in known:
                continue
            for column in info.get("columns", []):
                if column not in known[table]:
                    pending.setdefault(table, {}).setdefault(column, dump.dump_id)
    return {t: sorted(cols.items(), key=lambda c: c[1]) for t, cols in pending.items()}


def _types(courier: Courier, table: str, dump_id: int) -> dict[str, HeapColumn]:
    """Column types from the Avro schema of the table's first file in that dump."""
    dump = HeapDump.objects.get(courier=courier, dump_id=dump_id)
    client = s3_client(courier.credential)
    try:
        manifest = manifest_read(client, courier.bucket, dump.manifest_key)
        keys = manifest.table(table).keys if manifest.table(table) else []
        if not keys:
            return {}
        size = client.head_object(Bucket=courier.bucket, Key=keys[0])["ContentLength"]
        columns, _ = inspect_avro(client, courier.bucket, keys[0], size)
    except (ManifestError, DiscoveryError, Exception):  # noqa: BLE001 - fall back to String
        return {}
    return {c.name: c for c in columns}


@transaction.atomic
def heap_columns_add(*, courier: Courier, reload: bool = True) -> list[str]:
    """Add every pending column to its feed (types from the Avro schema), evolve the tables,
    and with ``reload`` forget the dumps from the first one carrying a new column, so the next
    run loads them again and fills the new columns. Returns a sentence per feed changed."""
    pending = heap_pending_columns(courier)
    feeds = heap_feeds(courier)
    done: list[str] = []
    first_dump: int | None = None
    for table, columns in pending.items():
        feed: Feed = feeds[table]
        latest = max(d for _, d in columns)
        types = _types(courier, table, latest)
        new = [types.get(c) or HeapColumn(c, "string", "") for c, _ in columns]
        heap_table = HeapTable(table, table_key(table), new)
        existing = [f.as_row() for f in feed.fields.all()]
        feed_update_fields(
            feed=feed,
            fields=existing + field_rows(heap_table, new),
            primary_key=list(feed.primary_key),
            last_updated_field=feed.last_updated_field,
            stitch=feed.stitch,
            error_threshold=feed.error_threshold,
        )
        if feed.status == Feed.Status.ACTIVE:
            try:
                feed_activate(feed=feed)
            except FeedError as exc:
                raise FeedError(f"{feed.table_name}: {exc}") from exc
        names = ", ".join(c for c, _ in columns)
        done.append(f"{feed.table_name}: added {names}")
        first = min(d for _, d in columns)
        first_dump = first if first_dump is None else min(first_dump, first)
    if reload and first_dump is not None:
        HeapDump.objects.filter(courier=courier, dump_id__gte=first_dump).delete()
        done.append(f"The next run loads dumps from {first_dump} again to fill the new columns.")
    return done
