"""Activation creates the typed domain table, loads the sample, and purges only when confirmed."""

import io
import uuid

import pytest
from django.conf import settings
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds.samples import upload_sample
from feeds.services import (
    FeedError,
    PurgeRequired,
    feed_activate,
    feed_create,
    feed_delete,
    feed_load_file,
    feed_table_spec,
    feed_truncate,
    feed_update_fields,
)

pytestmark = pytest.mark.django_db

CSV = (
    "user_id,account,email,joined,last_modified,balance,active,dob\n"
    "1,a,a@example.com,2024-01-02 10:00:00,5,10.25,true,1990-05-01\n"
    "2,a,b@example.com,2024-01-03 11:30:00,6,3.10,false,1985-12-31\n"
    "3,b,c@example.com,2024-01-04 12:00:00,7,7.00,true,\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def feed():
    sample = upload_sample(stream=io.BytesIO(CSV.encode()), name="users.csv")
    feed = feed_create(
        data_source_name=f"T{uuid.uuid4().hex[:8]}",
        name="Users",
        sample=sample,
        file_settings={},
        load_sample_on_activation=True,
    )
    yield feed
    with domain_connection(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table(feed)))


def table(feed) -> sql.Composed:
    return sql.SQL("{}.{}").format(
        sql.Identifier(settings.DOMAIN_SCHEMA), sql.Identifier(feed.table_name)
    )


def columns(feed) -> dict[str, str]:
    with domain_connection() as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (settings.DOMAIN_SCHEMA, feed.table_name),
        ).fetchall()
    return dict(rows)


def rows(feed, order="user_id") -> list[tuple]:
    with domain_connection() as conn:
        return conn.execute(
            sql.SQL("SELECT user_id, account, email FROM {} ORDER BY {}").format(
                table(feed), sql.Identifier(order)
            )
        ).fetchall()


def fields_of(feed) -> list[dict]:
    return [
        {
            "incoming": f.incoming,
            "name": f.name,
            "type": f.type,
            "precision": f.precision,
            "scale": f.scale,
            "semantic_tag": f.semantic_tag,
        }
        for f in feed.fields.all()
    ]


def test_activation_creates_typed_columns_and_loads_the_sample(feed):
    activation = feed_activate(feed=feed)
    assert columns(feed) == {
        "user_id": "bigint",
        "account": "text",
        "email": "text",
        "joined": "timestamp with time zone",
        "last_modified": "bigint",
        "balance": "numeric",
        "active": "boolean",
        "dob": "date",
        "_updated": "timestamp with time zone",
        "_file_date": "date",
        "_pk": "text",
        "_loaded_at": "timestamp with time zone",
    }
    assert activation.load.inserted == 3 and activation.load.rejected == 0
    assert rows(feed) == [
        (1, "a", "a@example.com"),
        (2, "a", "b@example.com"),
        (3, "b", "c@example.com"),
    ]
    feed.refresh_from_db()
    assert feed.status == "active" and feed.table_primary_key == ["user_id"]
    assert feed.last_loaded_at is not None


def test_last_updated_field_replaces_the_generated_column(feed):
    feed_update_fields(feed=feed, fields=fields_of(feed), primary_key=["user_id"],
                       last_updated_field="last_modified")  # fmt: skip
    feed_activate(feed=feed)
    assert "_updated" not in columns(feed)
    spec = feed_table_spec(feed)
    assert spec.last_updated == "last_modified" and spec.primary_key == ["user_id"]


def test_changing_the_key_of_an_active_feed_requires_confirmation_and_purges(feed):
    feed_activate(feed=feed)
    feed_update_fields(feed=feed, fields=fields_of(feed), primary_key=["account", "email"])
    with pytest.raises(PurgeRequired, match="purges the table"):
        feed_activate(feed=feed)
    assert len(rows(feed)) == 3  # nothing happened yet
    activation = feed_activate(feed=feed, confirm_purge=True)
    assert activation.purged
    assert activation.load.inserted == 3  # the sample is loaded again into the new table
    with domain_connection() as conn:
        pks = conn.execute(
            sql.SQL("SELECT _pk FROM {} ORDER BY _pk").format(table(feed))
        ).fetchall()
    assert pks == [("a\x1fa@example.com",), ("a\x1fb@example.com",), ("b\x1fc@example.com",)]
    feed.refresh_from_db()
    assert feed.table_primary_key == ["account", "email"]


def test_same_key_reactivation_does_not_purge(feed):
    feed_activate(feed=feed)
    fields = fields_of(feed) + [{"incoming": "extra", "type": "string"}]
    feed_update_fields(feed=feed, fields=fields, primary_key=["user_id"])
    activation = feed_activate(feed=feed)
    assert not activation.purged and activation.load is None
    assert activation.table_changes == ["added column extra (text)"]
    assert len(rows(feed)) == 3


def test_load_new_data_upserts_or_truncates(feed):
    feed_activate(feed=feed)
    more = "user_id,account,email\n3,z,new@example.com\n4,d,d@example.com\n"
    result = feed_load_file(feed=feed, stream=io.BytesIO(more.encode()), name="more.csv",
                            truncate=False)  # fmt: skip
    assert (result.inserted, result.updated) == (1, 1)
    assert rows(feed)[2:] == [(3, "z", "new@example.com"), (4, "d", "d@example.com")]
    feed_load_file(feed=feed, stream=io.BytesIO(more.encode()), name="more.csv", truncate=True)
    assert [r[0] for r in rows(feed)] == [3, 4]


def test_a_file_with_too_many_bad_rows_changes_nothing(feed):
    feed_activate(feed=feed)
    bad = "user_id,account,dob\n9,x,not-a-date\n"
    with pytest.raises(FeedError, match="reject|threshold"):
        feed_load_file(feed=feed, stream=io.BytesIO(bad.encode()), name="bad.csv", truncate=True)
    assert len(rows(feed)) == 3


def test_truncate_and_delete(feed):
    feed_activate(feed=feed)
    feed_truncate(feed=feed)
    assert rows(feed) == []
    feed_delete(feed=feed)
    assert columns(feed) == {}


def test_draft_feeds_cannot_be_loaded(feed):
    with pytest.raises(FeedError, match="Activate"):
        feed_load_file(feed=feed, stream=io.BytesIO(b"user_id\n1\n"), name="x.csv", truncate=False)
