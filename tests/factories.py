"""Objects the tests need, made through the product's own services where they exist."""

from __future__ import annotations

import os
import uuid

from credentials.models import Credential
from credentials.services import credential_create
from feeds.models import DataSource, Feed, FeedField

# The demo export's users table, as a feed would describe it.
USERS_FIELDS = [
    ("user_id", "integer"),
    ("joindate", "datetime"),
    ("last_modified", "datetime"),
    ("identity", "string"),
    ("handle", "string"),
    ("email", "string"),
    ("plan", "string"),
    ("seats", "integer"),
]


# The demo export's dated users files (demo.write_dated_export).
USERS_PATTERN = "'path/to/users-'yyyy'-'MM'-'dd'.avro'"
USERS_ENTITY = {
    "object/type": "file",
    "object/file-pattern": USERS_PATTERN,
    "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
}
FINAL_STATUSES = {"succeeded", "failed", "stopped"}


def make_credential(endpoint: str, name: str | None = None) -> Credential:
    """An IAM credential for the test S3 endpoint, made through the product's service."""
    return credential_create(
        name=name or f"S3 {uuid.uuid4().hex[:6]}",
        kind=Credential.Kind.IAM,
        access_key_id=os.environ.get("S3_ACCESS_KEY_ID", "test"),
        secret_access_key=os.environ.get("S3_SECRET_ACCESS_KEY", "test-secret"),
        endpoint_url=endpoint,
    )


def make_feed(
    source: str,
    name: str,
    fields: list[tuple[str, str]],
    primary_key: list[str],
    *,
    last_updated: str = "",
    active: bool = True,
    error_threshold: float = 1.0,
) -> Feed:
    """A feed described directly (the Feed Editor's own tests go through the UI)."""
    from amperity_sources.db import domain_connection
    from feeds.loader import ensure_table
    from feeds.services import feed_table_spec

    data_source, _ = DataSource.objects.get_or_create(name=source)
    feed = Feed.objects.create(
        data_source=data_source,
        name=name,
        primary_key=primary_key,
        last_updated_field=last_updated,
        error_threshold=error_threshold,
        status=Feed.Status.ACTIVE if active else Feed.Status.DRAFT,
    )
    FeedField.objects.bulk_create(
        FeedField(feed=feed, position=i, incoming=n, name=n, type=t)
        for i, (n, t) in enumerate(fields)
    )
    if active:
        with domain_connection() as conn:
            ensure_table(conn, feed_table_spec(feed))
    return feed


def domain_rows(feed: Feed, order_by: str = "_pk") -> list[dict]:
    from psycopg import sql
    from psycopg.rows import dict_row

    from amperity_sources.db import domain_connection
    from feeds.services import feed_table_spec

    spec = feed_table_spec(feed)
    with domain_connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT * FROM {}.{} ORDER BY {}").format(
                sql.Identifier(spec.schema), sql.Identifier(spec.table), sql.Identifier(order_by)
            )
        )
        return cur.fetchall()


def users_courier(bucket: str, endpoint: str, feed=None, *, name: str = "", load_operations=None):
    """A courier landing the dated users files; it loads them into ``feed`` when given."""
    from couriers.models import Courier

    if load_operations is None:
        load_operations = {feed.pk: [{"type": "load", "file": "users"}]} if feed else {}
    return Courier.objects.create(
        name=name or f"Heap {uuid.uuid4().hex[:8]}",
        credential=make_credential(endpoint),
        bucket=bucket,
        entities=[USERS_ENTITY],
        load_operations=load_operations,
    )


def run_finished(run):
    """The run, reloaded, once it has ended (for wait_until); else False."""
    run.refresh_from_db()
    return run.status in FINAL_STATUSES and run


def run_here(courier, **kwargs):
    """Run in this process, as `manage.py run_courier` does (no worker needed)."""
    from couriers.pipeline import courier_run_execute
    from couriers.services.runs import courier_run_start

    run = courier_run_start(courier=courier, queue=False, started_by="test", **kwargs)
    courier_run_execute(run.pk)
    run.refresh_from_db()
    return run
