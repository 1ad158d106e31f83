"""Data Explorer sort indexes and Previous page, on real Postgres.

A page sorted by another column than "_pk" is a whole-table sort until the column has a sort
index; with it the page query is an index range scan. Previous walks the keyset backwards.
"""

import contextlib
import uuid

import pytest
from django.conf import settings
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds import explorer
from feeds.loading.indexes import sort_index_create, sort_index_exists, sort_index_name
from feeds.models import DataSource, Feed, SortIndexBuild
from feeds.services import feed_activate, feed_update_fields
from tests.conftest import wait_until

pytestmark = pytest.mark.django_db
SCHEMA = settings.DOMAIN_SCHEMA
COLUMNS = ["id", "city", "amount"]


def make_feed(rows: int) -> Feed:
    source = DataSource.objects.create(name=f"S{uuid.uuid4().hex[:8]}")
    feed = Feed.objects.create(data_source=source, name="Orders")
    fields = [
        {"incoming": "id", "type": "integer", "semantic_tag": "pk"},
        {"incoming": "city", "type": "string"},
        {"incoming": "amount", "type": "float"},
    ]
    feed_update_fields(feed=feed, fields=fields, primary_key=["id"])
    feed_activate(feed=feed)
    table = sql.Identifier(SCHEMA, feed.table_name)
    with domain_connection(autocommit=True) as conn:
        # Every 7th row has no amount (nulls sort last); many rows share an amount.
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, city, amount, _pk) "
                "SELECT g, CASE WHEN g %% 3 = 0 THEN 'Boston' ELSE 'Seattle' END, "
                "CASE WHEN g %% 7 = 0 THEN NULL ELSE (g %% 10) * 1.5 END, lpad(g::text, 7, '0') "
                "FROM generate_series(1, %s) g"
            ).format(table),
            (rows,),
        )
        conn.execute(sql.SQL("ANALYZE {}").format(table))
    return feed


def drop(feed: Feed) -> None:
    with domain_connection(autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(SCHEMA, feed.table_name))
        )


@pytest.fixture
def small():
    feed = make_feed(120)
    yield feed
    drop(feed)


@pytest.fixture
def big():
    feed = make_feed(explorer.SORT_INDEX_ROWS)
    yield feed
    drop(feed)


@pytest.fixture
def analyst_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("sorter"))
    return client


def pages(feed, limit=25, **kw) -> list[explorer.Page]:
    """Every page, following Next from the first."""
    out, after = [], None
    with domain_connection(autocommit=True) as conn:
        while True:
            page = explorer.fetch_page(
                conn, SCHEMA, feed.table_name, columns=COLUMNS, after=after, limit=limit, **kw
            )
            out.append(page)
            if not page.next_after:
                return out
            after = page.next_after


def back(feed, last: explorer.Page, limit=25, **kw) -> list[explorer.Page]:
    """Every page before ``last``, following Previous; in forward order."""
    out, before = [], last.prev_before
    with domain_connection(autocommit=True) as conn:
        while before:
            page = explorer.fetch_page(
                conn, SCHEMA, feed.table_name, columns=COLUMNS, before=before, limit=limit, **kw
            )
            out.insert(0, page)
            before = page.prev_before
    return out


def create_index(feed, column="amount") -> str:
    with domain_connection(autocommit=True) as conn:
        return sort_index_create(conn, SCHEMA, feed.table_name, column)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("sort", ["amount", "_pk"])
def test_previous_walks_back_over_the_same_pages(small, sort, descending):
    def walk_both():
        forward = pages(small, sort=sort, descending=descending)
        backward = back(small, forward[-1], sort=sort, descending=descending)
        assert [p.rows for p in backward] == [p.rows for p in forward[:-1]]
        assert forward[0].prev_before is None and backward[0].prev_before is None
        return [r for p in forward for r in p.rows]

    plain = walk_both()
    assert sorted(r[0] for r in plain) == list(range(1, 121))
    if sort != "_pk":
        create_index(small)
        assert walk_both() == plain  # the index changes the plan, not the rows


def test_a_sort_index_pages_the_same_rows_with_filters(small):
    kw = {"sort": "amount", "filters": [explorer.Filter("city", "=", "Boston")]}
    plain = [r for p in pages(small, **kw) for r in p.rows]
    create_index(small)
    assert [r for p in pages(small, **kw) for r in p.rows] == plain and len(plain) == 40


def test_sort_index_name_fits_postgres_and_is_stable():
    long = "Customer Events From Heap Connect Export:" + "x" * 40
    name = sort_index_name(long, "amount")
    assert len(name.encode()) <= 63 and name == sort_index_name(long, "amount")
    assert name != sort_index_name(long, "amount2")
    assert sort_index_name("Orders", "city") == "Orders__sort__city"


@contextlib.contextmanager
def index_builds_held(feed):
    """Hold the lock CREATE INDEX CONCURRENTLY needs, so a build stays under way meanwhile."""
    with domain_connection() as conn:
        conn.execute(
            sql.SQL("LOCK TABLE {} IN SHARE UPDATE EXCLUSIVE MODE").format(
                sql.Identifier(SCHEMA, feed.table_name)
            )
        )
        yield
        conn.rollback()


def plan(conn, feed, **kw) -> str:
    query, params = explorer.page_query(
        conn, SCHEMA, feed.table_name, columns=COLUMNS, sort="amount", filters=[], **kw
    )
    return "\n".join(r[0] for r in conn.execute(sql.SQL("EXPLAIN ") + query, params))


def test_sorted_pages_use_the_index_once_it_exists(big):
    with domain_connection(autocommit=True) as conn:
        assert "Index" not in plan(conn, big, descending=False)
    name = create_index(big)
    with domain_connection(autocommit=True) as conn:
        page1 = explorer.fetch_page(conn, SCHEMA, big.table_name, sort="amount", limit=50)
        for kw in (
            {"descending": False},
            {"descending": True},
            {"descending": False, "after": page1.next_after},
            {"descending": False, "before": page1.next_after},
        ):
            text = plan(conn, big, **kw)
            assert "Index Scan" in text and name in text, (kw, text)
            assert "Seq Scan" not in text, (kw, text)


@pytest.mark.django_db(transaction=True)
def test_a_big_table_sorted_without_index_offers_one_and_the_worker_builds_it(
    analyst_client, celery_worker
):
    big = make_feed(explorer.SORT_INDEX_ROWS)
    try:
        url = reverse("feeds:table", args=[big.pk])
        query = {"sort": "amount", "desc": "on"}
        body = analyst_client.get(url, query).content.decode()
        assert "scans the whole table" in body and "Index this column" in body
        assert "csrfmiddlewaretoken" in body and 'name="column" value="amount"' in body
        assert "scans the whole table" not in analyst_client.get(url).content.decode()  # by _pk
        with index_builds_held(big):
            response = analyst_client.post(f"{url}?sort=amount&desc=on", {"column": "amount"})
            assert response.status_code == 302
            assert response["Location"] == f"{url}?sort=amount&desc=on"
            building = analyst_client.get(url, query).content.decode()  # the request returned
            assert "Building an index on amount" in building
            assert "Index this column" not in building
            build = SortIndexBuild.objects.get(feed=big, column="amount")
            wait_until(lambda: build.refresh_from_db() or build.status == "building")
            status = analyst_client.get(
                reverse("feeds:sort_index_status", args=[big.pk]), {"column": "amount"}
            )
            assert "Building an index on amount" in status.content.decode()
            assert "HX-Refresh" not in status
        wait_until(lambda: build.refresh_from_db() or build.status == "done", timeout=120)
        status = analyst_client.get(
            reverse("feeds:sort_index_status", args=[big.pk]), {"column": "amount"}
        )
        assert "is ready" in status.content.decode() and status["HX-Refresh"] == "true"
        after = analyst_client.get(url, query)
        assert "scans the whole table" not in after.content.decode()
        top = after.context["page"]
        assert top.rows[0][top.columns.index("amount")] == 13.5  # descending, nulls last
        with domain_connection(autocommit=True) as conn:
            assert sort_index_exists(conn, SCHEMA, big.table_name, "amount")
        bad = analyst_client.post(url, {"column": "nope"})
        assert bad.status_code == 400 and "no column &quot;nope&quot;" in bad.content.decode()
    finally:
        drop(big)


def test_a_small_table_needs_no_index(analyst_client, small):
    body = analyst_client.get(reverse("feeds:table", args=[small.pk]), {"sort": "amount"})
    assert "scans the whole table" not in body.content.decode()


def test_previous_page_link_goes_back(analyst_client, small):
    url = reverse("feeds:table", args=[small.pk])
    first = analyst_client.get(url, {"sort": "amount"})
    assert "Previous page" not in first.content.decode()
    second = analyst_client.get(f"{url}?{first.context['next_query']}")
    third = analyst_client.get(f"{url}?{second.context['next_query']}")
    assert "Page 3" in third.content.decode() and "Previous page" in third.content.decode()
    back2 = analyst_client.get(f"{url}?{third.context['prev_query']}")
    assert back2.context["page"].rows == second.context["page"].rows
    assert "Page 2" in back2.content.decode()
    back1 = analyst_client.get(f"{url}?{back2.context['prev_query']}")
    assert back1.context["page"].rows == first.context["page"].rows
    assert "Page 1" in back1.content.decode() and "Previous page" not in back1.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_index_button_then_next_and_previous(page, celery_worker):
    feed = make_feed(explorer.SORT_INDEX_ROWS)
    try:
        page.goto(f"{reverse('feeds:table', args=[feed.pk])}?sort=amount")
        notice = page.locator("#sort-index-notice")
        assert "scans the whole table" in notice.inner_text()
        first_row = page.locator("#explorer-rows tbody tr").first.inner_text()
        with index_builds_held(feed):
            page.click("#index-column")
            page.wait_for_load_state()
            notice = page.locator("#sort-index-notice")
            assert "Building an index on amount" in notice.inner_text()
        # the worker builds it; the polled notice reloads the page when it is done
        page.locator("#sort-index-notice").wait_for(state="detached", timeout=120_000)
        assert "sort=amount" in page.url
        assert page.locator("#explorer-rows tbody tr").first.inner_text() == first_row
        page.click("#next-page")
        assert "Page 2" in page.locator("#page-number").inner_text()
        page.click("#prev-page")
        assert "Page 1" in page.locator("#page-number").inner_text()
        assert page.locator("#explorer-rows tbody tr").first.inner_text() == first_row
    finally:
        drop(feed)
