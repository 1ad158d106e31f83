"""The feed's domain table: the model -> loader spec translation, activation, loads, purges."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amperity_sources.db import domain_connection
from feeds import loader, readers
from feeds.models import Feed
from feeds.readers import FileSettings, ReaderError
from feeds.readers.streams import PrefixedStream
from feeds.samples import SampleError, open_sample

from .errors import FeedError, FeedInvalid, PurgeRequired
from .sample import read_head
from .validation import feed_problems


def feed_table_spec(feed: Feed) -> loader.TableSpec:
    """The one translation from a feed to the loader's TableSpec."""
    return loader.TableSpec(
        schema=settings.DOMAIN_SCHEMA,
        table=feed.table_name,
        fields=[
            loader.FieldSpec(
                name=f.name,
                incoming=f.incoming,
                type=f.type,
                required=f.required,
                precision=f.precision if f.type == "decimal" else None,
                scale=f.scale if f.type == "decimal" and f.precision is not None else None,
            )
            for f in feed.fields.all()
        ],
        primary_key=list(feed.primary_key),
        last_updated=feed.last_updated_field or None,
        error_threshold=feed.error_threshold,
    )


@dataclass
class Activation:
    table_changes: list[str] = field(default_factory=list)
    purged: bool = False
    load: loader.LoadResult | None = None
    load_error: str = ""  # the sample could not be loaded (the feed is active all the same)


def feed_needs_purge(feed: Feed) -> bool:
    """Activating ``feed`` would purge its table: it is active and its primary key changed."""
    return (
        feed.status == Feed.Status.ACTIVE
        and bool(feed.table_primary_key)
        and list(feed.table_primary_key) != list(feed.primary_key)
    )


def feed_activate(*, feed: Feed, confirm_purge: bool = False) -> Activation:
    """Validate, create or evolve the domain table, and load the sample if asked to.

    A changed primary key of an active feed drops and recreates the table, only with
    ``confirm_purge`` (else PurgeRequired). The sample is loaded when the table is new.
    """
    problems = feed_problems(feed)
    if problems:
        raise FeedInvalid(problems)
    purge = feed_needs_purge(feed)
    if purge and not confirm_purge:
        raise PurgeRequired(
            f"Changing the primary key of {feed.table_name} purges the table: every row is "
            "deleted. Confirm to continue."
        )
    spec = feed_table_spec(feed)
    result = Activation(purged=purge)
    with domain_connection(autocommit=True) as conn:
        existed = loader.table_exists(conn, spec.schema, spec.table)
        if purge:
            loader.drop_table(conn, spec)
        try:
            result.table_changes = loader.ensure_table(conn, spec)
        except loader.SpecError as exc:
            raise FeedError(str(exc)) from exc
        except Exception as exc:  # a type change the existing rows cannot take
            raise FeedError(f"Cannot change the table {feed.table_name}: {exc}") from exc
    feed.status = Feed.Status.ACTIVE
    feed.activated_at = timezone.now()
    feed.table_primary_key = list(feed.primary_key)
    feed.save(update_fields=["status", "activated_at", "table_primary_key"])
    if feed.load_sample_on_activation and feed.sample and (purge or not existed):
        try:
            stream, name = open_sample(feed.sample)
            with stream:
                result.load = feed_load_file(feed=feed, stream=stream, name=name, truncate=False)
        except (FeedError, SampleError) as exc:
            result.load_error = str(exc)
    return result


def feed_truncate(*, feed: Feed) -> None:
    """Delete every row of the feed's table (the table and the feed stay)."""
    with domain_connection(autocommit=True) as conn:
        loader.truncate_table(conn, feed_table_spec(feed))


@transaction.atomic
def feed_delete(*, feed: Feed) -> None:
    """Delete the feed and drop its domain table."""
    spec = feed_table_spec(feed)
    feed.delete()
    with domain_connection(autocommit=True) as conn:
        loader.drop_table(conn, spec)


def file_settings_for(feed: Feed, name: str, head: bytes) -> FileSettings:
    """The feed's own settings when the file is of the same kind; else inferred from the file."""
    inferred = readers.infer_settings(name, head)
    if feed.file_settings:
        own = FileSettings.from_dict(feed.file_settings)
        if own.content_type == inferred.content_type:
            own.compression = inferred.compression
            return own
    return inferred


def feed_load_file(*, feed: Feed, stream: BinaryIO, name: str, truncate: bool) -> loader.LoadResult:
    """Load one file into the feed's table now ("Load new data"); upsert, or truncate first.

    Raises FeedError (unreadable file, too many rejected rows: nothing is changed then)."""
    if feed.status != Feed.Status.ACTIVE:
        raise FeedError(f"Activate {feed.table_name} before loading data into it.")
    head = read_head(stream)
    try:
        file_settings = file_settings_for(feed, name, head)
        reader = readers.open_reader(
            io.BufferedReader(PrefixedStream(head, stream)), name, file_settings
        )
        source = loader.SourceFile(name=name, batches=reader.batches)
        with domain_connection(autocommit=True) as conn:
            result = loader.load(conn, feed_table_spec(feed), [source], truncate=truncate)
    except loader.LoadRejected as exc:
        raise FeedError(str(exc)) from exc
    except (ReaderError, loader.SpecError, ValueError) as exc:
        raise FeedError(f"Cannot load {name}: {exc}") from exc
    feed.last_loaded_at = timezone.now()
    feed.save(update_fields=["last_loaded_at"])
    return result
