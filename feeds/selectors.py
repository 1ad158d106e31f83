from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import get_object_or_404
from psycopg.types.string import TextLoader

from amperity_sources.csv_safe import is_text_type, safe_copy_csv
from amperity_sources.db import domain_connection
from feeds import explorer
from feeds.loading.identity import heap_identity_counts, heap_identity_rows
from feeds.loading.indexes import sort_index_exists, sort_index_progress
from feeds.tags import is_profile_tag

from .models import Feed, SortIndexBuild


def feeds_for_sources_page():
    return Feed.objects.select_related("data_source").prefetch_related("fields")


def domain_tables_for_sources_page():
    return Feed.objects.filter(status=Feed.Status.ACTIVE).select_related("data_source")


def feed_get(pk: str) -> Feed:
    return get_object_or_404(Feed.objects.select_related("data_source"), pk=pk)


def record_type(feed: Feed) -> str:
    """The record type: customer profile (Stitch or PII tags), else other."""
    if feed.stitch or any(is_profile_tag(f.semantic_tag) for f in feed.fields.all()):
        return "Customer profile"
    return "Other"


@dataclass
class DomainTable:
    feed: Feed
    rows: int
    estimated: bool
    record_type: str
    exists: bool


def explorer_tables() -> list[DomainTable]:
    """Active feeds' tables with row counts (estimated for big tables) and record types."""
    feeds = list(domain_tables_for_sources_page().prefetch_related("fields"))
    out = []
    with domain_connection(autocommit=True) as conn:
        for feed in feeds:
            exists = bool(explorer.table_columns(conn, settings.DOMAIN_SCHEMA, feed.table_name))
            rows, estimated = (
                explorer.row_count(conn, settings.DOMAIN_SCHEMA, feed.table_name)
                if exists
                else (0, False)
            )
            out.append(DomainTable(feed, rows, estimated, record_type(feed), exists))
    return out


def domain_table_rows(feed: Feed) -> tuple[int, bool] | None:
    """(rows, estimated) of the feed's domain table, or None when it has no table yet."""
    with domain_connection(autocommit=True) as conn:
        if not explorer.table_columns(conn, settings.DOMAIN_SCHEMA, feed.table_name):
            return None
        return explorer.row_count(conn, settings.DOMAIN_SCHEMA, feed.table_name)


def heap_identity_tables(names: tuple[str, ...]) -> list[dict]:
    """Each Heap identity table's row count and, when it has rows, a sample of them."""
    with domain_connection(autocommit=True) as conn:
        counts = heap_identity_counts(conn, settings.DOMAIN_SCHEMA, names)
        return [
            {
                "name": name,
                "rows": counts[name],
                "sample": heap_identity_rows(conn, settings.DOMAIN_SCHEMA, name)
                if counts[name]
                else None,
            }
            for name in names
        ]


# ---------------------------------------------------------------- Data Explorer pages
@dataclass
class TablePage:
    page: explorer.Page
    rows: int
    estimated: bool
    slow_sort: bool  # sorted by a column of a big table that has no sort index
    index_build: SortIndexBuild | None  # a sort index on that column being built


def explorer_columns(feed: Feed) -> list[tuple[str, str]]:
    """The domain table's (column, type) pairs; empty when it does not exist yet."""
    with domain_connection(autocommit=True) as conn:
        return explorer.table_columns(conn, settings.DOMAIN_SCHEMA, feed.table_name)


def explorer_page(feed: Feed, *, after: str | None, before: str | None, **query) -> TablePage:
    """One page of the table, with what the page says about it (raises ExplorerError)."""
    schema, table = settings.DOMAIN_SCHEMA, feed.table_name
    with domain_connection(autocommit=True) as conn:
        # jsonb as Postgres writes it: every digit kept (2.50 stays 2.50, not a Python float)
        conn.adapters.register_loader("jsonb", TextLoader)
        page = explorer.fetch_page(conn, schema, table, after=after, before=before, **query)
        rows, estimated = explorer.row_count(conn, schema, table)
        # Sorting a big table by a column without an index sorts it all for every page.
        slow_sort = (
            page.sort != explorer.PK
            and rows >= explorer.SORT_INDEX_ROWS
            and not sort_index_exists(conn, schema, table, page.sort)
        )
    build = None
    if slow_sort:
        build = feed.sort_index_builds.filter(column=page.sort).first()
    return TablePage(page, rows, estimated, slow_sort, build)


def explorer_csv(feed: Feed, **query) -> Iterator[bytes]:
    """The (filtered, sorted) table as spreadsheet-safe CSV; the iterator owns its connection
    (raises ExplorerError before streaming when the request is wrong)."""
    conn = domain_connection(autocommit=True)
    try:
        columns = explorer.table_columns(conn, settings.DOMAIN_SCHEMA, feed.table_name)
        body = explorer.stream_csv(conn, settings.DOMAIN_SCHEMA, feed.table_name, **query)
    except Exception:
        conn.close()
        raise
    # Safe to open in a spreadsheet: text cells that look like formulas get a '.
    text = {i for i, (_, pg_type) in enumerate(columns) if is_text_type(pg_type)}
    return safe_copy_csv(body, text)


def sort_index_build_status(feed: Feed, column: str) -> tuple[SortIndexBuild | None, object]:
    """The latest build of a sort index on ``column`` and, while it builds, its progress."""
    build = feed.sort_index_builds.filter(column=column).first()
    progress = None
    if build is not None and build.status == SortIndexBuild.Status.BUILDING:
        with domain_connection(autocommit=True) as conn:
            progress = sort_index_progress(conn, settings.DOMAIN_SCHEMA, feed.table_name)
    return build, progress
