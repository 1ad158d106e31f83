"""Objects the tests need, made through the product's own services where they exist."""

from __future__ import annotations

import uuid

from credentials.models import Credential
from credentials.services import credential_set_secrets
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


def make_credential(endpoint: str, name: str | None = None) -> Credential:
    credential = Credential(
        name=name or f"S3 {uuid.uuid4().hex[:6]}", kind=Credential.Kind.IAM, endpoint_url=endpoint
    )
    credential_set_secrets(
        credential, {"access_key_id": "AKIDEXAMPLE", "secret_access_key": "test-secret"}
    )
    credential.save()
    return credential


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
