"""The load ledger: one row per committed feed load, written inside the load's transaction.

Whatever happens to the worker afterwards (killed, the database connection cut at commit, a
Stop that arrived after COPY), the ledger says whether the load committed, so recovery can tell
the truth and a retried run never loads (or truncates) a committed feed twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from django import db
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb

from feeds.models import Feed

from ..models import CourierRun, LandedFile, LoadedObject, LoadLedger, RunLoad

_COLUMNS = (
    "run_id", "feed_id", "attempt", "truncate", "files",
    "rows_read", "inserted", "updated", "rejected", "committed_at",
)  # fmt: skip


def load_ledger_record(
    conn: psycopg.Connection,
    *,
    run: CourierRun,
    feed: Feed,
    files: Sequence[LandedFile],
    truncate: bool,
    result,
) -> None:
    """Write the ledger row on the load's own connection, inside its open transaction (call
    it after the loader's work and before the commit): it commits exactly with the load."""
    if not conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        raise RuntimeError("load_ledger_record must run inside the load's transaction")
    conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({}, clock_timestamp())").format(
            sql.Identifier(LoadLedger._meta.db_table),
            sql.SQL(", ").join(sql.Identifier(c) for c in _COLUMNS),
            sql.SQL(", ").join(sql.Placeholder() for _ in _COLUMNS[:-1]),
        ),
        [
            run.pk,
            feed.pk,
            run.attempts,
            truncate,
            Jsonb([[f.key, f.member, f.etag] for f in files]),
            result.rows_read,
            result.inserted,
            result.updated,
            result.rejected,
        ],
    )


def load_ledger_committed(
    run: CourierRun, feed: Feed | str, *, attempt: int | None = None
) -> LoadLedger | None:
    """The committed load of this feed by this run (by one attempt, if given), or None."""
    rows = LoadLedger.objects.filter(run_id=run.pk, feed_id=getattr(feed, "pk", feed))
    if attempt is not None:
        rows = rows.filter(attempt=attempt)
    return rows.order_by("-committed_at").first()


def load_ledger_tables(run: CourierRun) -> list[str]:
    """The tables this run has committed loads into, in commit order (for a Stop message
    that says what really stayed loaded)."""
    names: list[str] = []
    for entry in LoadLedger.objects.filter(run_id=run.pk).select_related("feed"):
        if entry.feed.table_name not in names:
            names.append(entry.feed.table_name)
    return names


def load_ledger_adopt(run: CourierRun, entry: LoadLedger) -> None:
    """Record, on behalf of a dead attempt, what its committed load did: the files count as
    loaded and the feed's last load time is the commit's. The pipeline calls it when it skips
    a feed the ledger says this run committed (not the watchdog: a truncate feed whose files
    count as loaded but is loaded again would be truncated and left empty)."""
    for key, member, etag in entry.files:
        LoadedObject.objects.get_or_create(
            feed_id=entry.feed_id, key=key, member=member, etag=etag, defaults={"run": run}
        )
    Feed.objects.filter(pk=entry.feed_id).update(last_loaded_at=entry.committed_at)


INTERRUPTED = "Interrupted: the worker stopped during this load; it was rolled back."
COMMITTED_BEFORE_DEATH = "Committed just before the worker stopped."


def close_dead_attempt(
    run: CourierRun, *, now: datetime | None = None
) -> tuple[list[str], list[str]]:
    """Close the RunLoad rows a dead attempt left "Loading", with what really happened: the
    ledger's committed counts, or "interrupted: rolled back". Returns (committed tables,
    rolled-back tables)."""
    now = now or timezone.now()
    committed = [  # every load this attempt committed, whether its row was closed or not
        entry.feed.table_name
        for entry in LoadLedger.objects.filter(run_id=run.pk, attempt=run.attempts)
        .select_related("feed")
        .order_by("committed_at")
    ]
    rolled_back: list[str] = []
    for load in run.loads.filter(status=RunLoad.Status.LOADING).select_related("feed"):
        entry = load_ledger_committed(run, load.feed, attempt=run.attempts)
        if entry is not None:
            load.status = RunLoad.Status.SUCCEEDED
            load.rows_read, load.inserted = entry.rows_read, entry.inserted
            load.updated, load.rejected = entry.updated, entry.rejected
            load.error, load.finished_at = COMMITTED_BEFORE_DEATH, entry.committed_at
        else:
            load.status, load.error, load.finished_at = RunLoad.Status.INTERRUPTED, INTERRUPTED, now
            rolled_back.append(load.feed.table_name)
        load.save(update_fields=[
            "status", "rows_read", "inserted", "updated", "rejected", "error", "finished_at"
        ])  # fmt: skip
    return committed, rolled_back


def database_fault(exc: BaseException) -> bool:
    """A fault of the database connection itself (server restarted, connection terminated,
    network cut), after which whether a commit happened is known only from the ledger."""
    return isinstance(exc, psycopg.OperationalError | db.OperationalError | db.InterfaceError)
