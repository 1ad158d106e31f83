"""Data Explorer on real Postgres: keyset pages, filters, sorting, CSV, and the pages."""

import csv
import io
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds import explorer
from feeds.models import DataSource, Feed
from feeds.services import feed_activate, feed_update_fields

pytestmark = pytest.mark.django_db
SCHEMA = settings.DOMAIN_SCHEMA


@pytest.fixture
def feed():
    source = DataSource.objects.create(name=f"X{uuid.uuid4().hex[:8]}")
    feed = Feed.objects.create(data_source=source, name="Orders")
    fields = [
        {"incoming": "id", "type": "integer", "semantic_tag": "pk"},
        {"incoming": "city", "type": "string", "semantic_tag": "city"},
        {"incoming": "amount", "type": "float"},
    ]
    feed_update_fields(feed=feed, fields=fields, primary_key=["id"])
    feed_activate(feed=feed)
    with domain_connection(autocommit=True) as conn:
        # 120 rows; every 7th has no amount (nulls sort last); _pk is the id as text.
        conn.execute(
            sql.SQL(
                "INSERT INTO {}.{} (id, city, amount, _pk) "
                "SELECT g, CASE WHEN g % 3 = 0 THEN 'Boston' ELSE 'Seattle' END, "
                "CASE WHEN g % 7 = 0 THEN NULL ELSE (g % 10) * 1.5 END, lpad(g::text, 4, '0') "
                "FROM generate_series(1, 120) g"
            ).format(sql.Identifier(SCHEMA), sql.Identifier(feed.table_name))
        )
    yield feed
    with domain_connection(autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
                sql.Identifier(SCHEMA), sql.Identifier(feed.table_name)
            )
        )


@pytest.fixture
def analyst_client(client, django_user_model):
    # No password: hashing one costs a second or more per test.
    client.force_login(django_user_model.objects.create_user("viewer"))
    return client


def walk(feed, **kw) -> list[tuple]:
    """Every row, following Next from the first page."""
    out, after = [], None
    with domain_connection(autocommit=True) as conn:
        while True:
            page = explorer.fetch_page(
                conn, SCHEMA, feed.table_name, columns=["id", "city", "amount"],
                after=after, limit=25, **kw,
            )  # fmt: skip
            out += page.rows
            assert len(page.rows) <= 25
            if not page.next_after:
                return out
            after = page.next_after


def test_pages_follow_the_key_without_gaps_or_repeats(feed):
    rows = walk(feed)
    assert [r[0] for r in rows] == list(range(1, 121))


def test_sorting_by_a_column_with_nulls_walks_every_row_once(feed):
    rows = walk(feed, sort="amount")
    assert sorted(r[0] for r in rows) == list(range(1, 121))
    amounts = [r[2] for r in rows]
    present = [a for a in amounts if a is not None]
    assert present == sorted(present) and amounts[-len(amounts) + len(present) :] == [None] * (
        len(amounts) - len(present)
    )
    desc = walk(feed, sort="amount", descending=True)
    assert [r[2] for r in desc if r[2] is not None] == sorted(present, reverse=True)
    assert len(desc) == 120


def test_filters(feed):
    boston = walk(feed, filters=[explorer.Filter("city", "=", "Boston")])
    assert [r[0] for r in boston] == list(range(3, 121, 3))
    contains = walk(feed, filters=[explorer.Filter("city", "contains", "eat")])
    assert len(contains) == 80
    big = walk(feed, filters=[explorer.Filter("amount", ">", "12")])
    assert all(r[2] > 12 for r in big) and big
    assert len(walk(feed, filters=[explorer.Filter("amount", "empty")])) == 17
    with pytest.raises(explorer.ExplorerError, match="does not fit"):
        walk(feed, filters=[explorer.Filter("amount", ">", "lots")])
    with pytest.raises(explorer.ExplorerError, match='no column "nope"'):
        walk(feed, filters=[explorer.Filter("nope", "=", "1")])


def test_row_count_is_exact_for_small_tables(feed):
    with domain_connection(autocommit=True) as conn:
        assert explorer.row_count(conn, SCHEMA, feed.table_name) == (120, False)


def test_explorer_lists_tables_with_counts_and_record_type(analyst_client, feed):
    body = analyst_client.get(reverse("feeds:explorer")).content.decode()
    assert feed.table_name in body and ">120<" in body and "Customer profile" in body


def test_table_page_shows_types_tags_and_next(analyst_client, feed):
    url = reverse("feeds:table", args=[feed.pk])
    response = analyst_client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "bigint" in body and "double precision" in body and ">city<" in body
    assert response.context["page"].rows[0][0] == 1 and len(response.context["page"].rows) == 50
    next_query = response.context["next_query"]
    second = analyst_client.get(f"{url}?{next_query}")
    assert second.context["page"].rows[0][0] == 51 and "Page 2" in second.content.decode()


def test_table_page_sorts_and_filters(analyst_client, feed):
    url = reverse("feeds:table", args=[feed.pk])
    response = analyst_client.get(url, {"sort": "id", "desc": "on", "column": "city",
                                        "op": "=", "value": "Boston"})  # fmt: skip
    assert [r[0] for r in response.context["page"].rows][:3] == [120, 117, 114]


def test_a_bad_filter_value_is_a_400_naming_the_problem(analyst_client, feed):
    url = reverse("feeds:table", args=[feed.pk])
    response = analyst_client.get(url, {"column": "id", "op": ">", "value": "ten"})
    assert response.status_code == 400
    assert "does not fit its column" in response.content.decode()
    damaged = analyst_client.get(url, {"after": "garbage!!"})
    assert damaged.status_code == 400 and "damaged" in damaged.content.decode()


def test_csv_download_streams_the_filtered_rows(analyst_client, feed):
    url = reverse("feeds:table", args=[feed.pk])
    response = analyst_client.get(url, {"format": "csv", "column": "city", "op": "=",
                                        "value": "Boston", "sort": "id"})  # fmt: skip
    assert response.status_code == 200 and response.streaming
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 40 and rows[0]["id"] == "3" and rows[0]["city"] == "Boston"
    assert set(rows[0]) >= {"id", "city", "amount", "_pk", "_updated", "_loaded_at"}


@pytest.mark.django_db(transaction=True)
def test_bytes_and_json_columns_show_as_hex_and_json(analyst_client):
    source = DataSource.objects.create(name=f"X{uuid.uuid4().hex[:8]}")
    typed = Feed.objects.create(data_source=source, name="Typed")
    fields = [
        {"incoming": "id", "type": "integer"},
        {"incoming": "raw", "type": "bytes"},
        {"incoming": "doc", "type": "json"},
    ]
    feed_update_fields(feed=typed, fields=fields, primary_key=["id"])
    feed_activate(feed=typed)
    try:
        with domain_connection(autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.{} (id, raw, doc, _pk) VALUES (1, %s, %s::jsonb, '1')"
                ).format(sql.Identifier(SCHEMA), sql.Identifier(typed.table_name)),
                (b"\x00\xff", '{"a": [1, 2.50]}'),
            )
        page = analyst_client.get(reverse("feeds:table", args=[typed.pk])).content.decode()
        assert "<td>00ff</td>" in page.replace(" ", "")
        assert "{&quot;a&quot;:[1,2.50]}" in page.replace(" ", "")
        assert "b&#x27;" not in page
    finally:
        with domain_connection(autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {}.{}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(typed.table_name)
                )
            )
