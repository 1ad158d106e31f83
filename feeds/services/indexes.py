"""Sort indexes for the Data Explorer: asked for on a page, built on the worker."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from amperity_sources.db import domain_connection
from feeds.loading.indexes import SortIndexError, sort_index_check, sort_index_create

from ..models import Feed, SortIndexBuild
from .errors import FeedError


def sort_index_request(
    *, feed: Feed, column: str, queue: Callable[[int], object]
) -> SortIndexBuild:
    """Queue the build of a sort index on ``column`` (or return the one already under way).

    ``queue`` sends a build id to the worker (feeds.tasks.build_sort_index.delay): passed in,
    so the services never import the task module that imports them."""
    with domain_connection(autocommit=True) as conn:
        try:
            sort_index_check(conn, settings.DOMAIN_SCHEMA, feed.table_name, column)
        except SortIndexError as exc:
            raise FeedError(str(exc)) from None
    try:
        with transaction.atomic():
            build = SortIndexBuild.objects.create(feed=feed, column=column)
    except IntegrityError:  # one is queued or building already
        return SortIndexBuild.objects.get(
            feed=feed, column=column, status__in=SortIndexBuild.ACTIVE
        )
    transaction.on_commit(lambda: queue(build.pk))
    return build


def sort_index_build(*, build_id: int) -> None:
    """Build the index (the worker's part); the build row records how it ended."""
    claimed = SortIndexBuild.objects.filter(
        pk=build_id, status=SortIndexBuild.Status.QUEUED
    ).update(status=SortIndexBuild.Status.BUILDING)
    if not claimed:
        return  # built or given up already: a redelivered task does nothing
    build = SortIndexBuild.objects.select_related("feed__data_source").get(pk=build_id)
    status, error = SortIndexBuild.Status.DONE, ""
    try:
        with domain_connection(autocommit=True) as conn:
            sort_index_create(conn, settings.DOMAIN_SCHEMA, build.feed.table_name, build.column)
    except SortIndexError as exc:
        status, error = SortIndexBuild.Status.FAILED, str(exc)
    except Exception as exc:
        status, error = SortIndexBuild.Status.FAILED, f"{type(exc).__name__}: {exc}"
        raise
    finally:
        SortIndexBuild.objects.filter(pk=build_id).update(
            status=status, error=error, finished_at=timezone.now()
        )
