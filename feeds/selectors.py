from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.shortcuts import get_object_or_404

from amperity_sources.db import domain_connection
from feeds import explorer
from feeds.loading.identity import heap_identity_counts, heap_identity_rows
from feeds.tags import is_profile_tag

from .models import Feed


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
