"""Loading landed files into one feed: the step the dated-file path and the Heap path share.

load_feed() opens each landed file (decrypting and opening archive members as needed), hands
the streams to the loader in one transaction, retries transient S3 faults, and records what
happened (RunLoad, rejected rows, LoadedObject). RunFailed and RunStopped end the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import psycopg
from django import db
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from amperity_sources.db import domain_connection
from credentials.services import credential_secrets, s3_client
from feeds.explorer import row_count
from feeds.loader import FileRefused, LoadRejected, LoadResult, LoadStopped, SourceFile, load
from feeds.models import Feed
from feeds.readers import FileSettings, ReaderError, decrypt_pgp, open_archive_member, open_reader
from feeds.services import feed_table_spec

from .models import CourierRun, LandedFile, LoadedObject, RunEvent, RunLoad, RunReject
from .resuming import ResumingStream
from .s3 import RangedFile, S3Error, key_in_scope
from .services.ledger import load_ledger_committed, load_ledger_record
from .services.runs import run_event, run_heartbeat

SEEKABLE_TYPES = {"application/x-parquet"}
MAX_STORED_REJECTS = 10_000
# A feed's load that breaks on a transient S3 error (after botocore's own retries and the
# stream's resumes) is rolled back and tried again this many times in all, with backoff.
LOAD_ATTEMPTS = 3
LOAD_RETRY_SECONDS = 1.0


class RunFailed(Exception):
    """Ends the run as Failed with this message."""


class RunStopped(Exception):
    """Ends the run as Stopped with this message (what was and was not loaded)."""


def stopped_message(loaded: list[str]) -> str:
    if not loaded:
        return "No domain table was changed."
    return (
        "The load in progress was rolled back. Loaded completely before the stop: "
        + ", ".join(loaded)
        + "."
    )


def run_s3_client(run: CourierRun) -> Any:
    """One S3 client per run: building one (session, endpoint resolution) costs most of a second.
    Kept on the run object (which may be unsaved: the Run dialog's impact panel)."""
    client = getattr(run, "_s3_client", None)
    if client is None:
        client = s3_client(run.courier.credential)
        setattr(run, "_s3_client", client)  # noqa: B010 - not a model field
    return client


@dataclass
class FeedLoaded:
    """What loading one feed did, and what the run must tell the user about it."""

    result: LoadResult
    warnings: list[str] = field(default_factory=list)


def table_rows(feed: Feed) -> str:
    """The table's size in words for a message: "4,297 rows" (or "about ..." when big)."""
    with domain_connection() as conn:
        rows, estimated = row_count(conn, settings.DOMAIN_SCHEMA, feed.table_name)
    return f"{'about ' * estimated}{rows:,} row{'s' * (rows != 1)}"


def load_feed(
    run, feed: Feed, files: list[LandedFile], *, truncate: bool, rows_before: int
) -> FeedLoaded:
    """Load ``files`` into the feed's table in one transaction: all of them or nothing.

    No files: nothing happens (a truncate needs data to replace the table with); the caller
    says why. Files holding no rows do not empty a table either (the load is kept out)."""
    run_load = RunLoad.objects.create(
        run=run,
        feed=feed,
        truncate=truncate,
        files=[f.label for f in files],
        status=RunLoad.Status.LOADING,
    )
    if not files:
        run_load.status = RunLoad.Status.SKIPPED
        run_load.finished_at = timezone.now()
        run_load.save()
        return FeedLoaded(LoadResult())
    run_event(
        run,
        f"Loading {len(files)} file{'s' * (len(files) != 1)} into {feed.table_name}"
        + (" (truncate first)" if truncate else ""),
    )
    files_before = run.files_done
    for attempt in range(1, LOAD_ATTEMPTS + 1):
        try:
            result = _load_once(run, run_load, feed, files, truncate, rows_before, files_before)
            break
        except S3Error as exc:
            if not exc.problem.transient or attempt == LOAD_ATTEMPTS:
                _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, str(exc.problem))
                raise RunFailed(
                    f"{feed.table_name}: {exc.problem} Nothing was written to the table."
                ) from None
            run_event(
                run,
                f"{feed.table_name}: {exc.problem.message} The load was rolled back; trying "
                f"again (attempt {attempt + 1} of {LOAD_ATTEMPTS}).",
                RunEvent.Level.WARNING,
            )
            time.sleep(LOAD_RETRY_SECONDS * 2 ** (attempt - 1))
        except (psycopg.OperationalError, db.OperationalError) as exc:
            # The database connection broke (server restart, terminated backend, network):
            # whether the commit happened is known only from the ledger.
            db.close_old_connections()
            db.connection.close()
            committed = load_ledger_committed(run, feed, attempt=run.attempts)
            if committed is not None:  # it committed just before the connection broke
                result = LoadResult(
                    rows_read=committed.rows_read,
                    inserted=committed.inserted,
                    updated=committed.updated,
                    rejected=committed.rejected,
                )
                break
            cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if attempt == LOAD_ATTEMPTS:
                _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, cause)
                raise RunFailed(
                    f"{feed.table_name}: the database connection was lost ({cause}) "
                    f"{LOAD_ATTEMPTS} times; nothing was written to the table."
                ) from None
            run_event(
                run,
                f"{feed.table_name}: the database connection was lost ({cause}); the load was "
                f"rolled back; trying again (attempt {attempt + 1} of {LOAD_ATTEMPTS}).",
                RunEvent.Level.WARNING,
            )
            time.sleep(LOAD_RETRY_SECONDS * 2 ** (attempt - 1))
    with transaction.atomic():
        _record_load(run_load, result, RunLoad.Status.SUCCEEDED)
        _store_rejects(run, feed, result)
        for f in files:
            LoadedObject.objects.get_or_create(
                feed=feed, key=f.key, member=f.member, etag=f.etag, defaults={"run": run}
            )
        Feed.objects.filter(pk=feed.pk).update(last_loaded_at=timezone.now())
    kept_out = ""
    if result.skipped:
        newer = "from newer files" if feed.last_updated_field == "" else "in newer versions"
        kept_out = f"; {result.skipped:,} row{'s' * (result.skipped != 1)} kept: the table "
        kept_out += f"holds them {newer}"
    run_event(
        run,
        f"{feed.table_name}: {result.rows_read} rows read, {result.inserted} inserted, "
        f"{result.updated} updated, {result.rejected} rejected{kept_out}",
    )
    return FeedLoaded(result, _load_warnings(run, feed, result, truncate))


def _load_warnings(run, feed: Feed, result: LoadResult, truncate: bool) -> list[str]:
    warnings = []
    if result.kept:
        rows = table_rows(feed)
        if not rows.startswith("0 "):
            warnings.append(
                f"{feed.table_name}: the files hold no rows; the table was kept ({rows}) rather "
                "than emptied. To empty it, use Truncate on the feed."
            )
    what = "left empty (the table was reloaded)" if truncate else "kept their stored values"
    by_columns: dict[tuple[str, ...], list[str]] = {}  # one line per set of missing columns
    for name, fields in result.absent_columns.items():
        by_columns.setdefault(tuple(fields), []).append(name)
    for columns, names in by_columns.items():
        who = names[0] if len(names) == 1 else f"{len(names)} files ({names[0]}, …)"
        verb = "lacks" if len(names) == 1 else "lack"
        warnings.append(f"{feed.table_name}: {who} {verb} {', '.join(columns)}: {what}")
    for warning in warnings:
        run_event(run, warning, RunEvent.Level.WARNING)
    return warnings


def _load_once(
    run, run_load: RunLoad, feed: Feed, files, truncate: bool, rows_before: int, files_before: int
) -> LoadResult:
    """One attempt at the feed's load; any exception leaves the table as it was."""
    client = run_s3_client(run)
    opened = [0]  # files opened so far; counted here, written by the loading thread

    def batches_of(landed: LandedFile):
        def open_batches():
            # Runs on the loader's read-ahead thread: no database work here.
            opened[0] += 1
            settings = FileSettings.from_dict(landed.file_settings)
            stream, name = open_landed(client, run.courier, landed, settings)
            return open_reader(stream, name, settings).batches()

        return open_batches

    sources = [
        SourceFile(name=f.label, batches=batches_of(f), file_date=f.file_date) for f in files
    ]

    def should_stop() -> bool:
        status = run_heartbeat(run, files_done=files_before + opened[0])
        return status == CourierRun.Status.STOPPING

    def on_progress(rows: int) -> None:
        run_heartbeat(run, rows_done=rows_before + rows, files_done=files_before + opened[0])

    waiting_said: list[str] = []

    def on_lock_wait(seconds: float) -> None:
        """Another load holds the table: say who, keep listening for Stop, give up in time."""
        holder = _table_holder(run, feed)
        if not waiting_said:
            waiting_said.append(holder)
            run_event(run, f"Waiting for {holder} to finish loading {feed.table_name}")
        if should_stop():
            raise LoadStopped(stopped_message([]), LoadResult())
        limit = settings.SOURCES_LOAD_LOCK_WAIT_SECONDS
        if seconds > limit:
            message = (
                f"{feed.table_name}: {holder} kept loading this table for more than "
                f"{limit:g} s (setting SOURCES_LOAD_LOCK_WAIT_SECONDS); nothing was written. "
                "Run the courier again once it has finished."
            )
            _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, message)
            raise RunFailed(message)

    def on_committing() -> None:
        RunLoad.objects.filter(pk=run_load.pk).update(status=RunLoad.Status.COMMITTING)

    try:
        with domain_connection() as conn, conn.transaction():
            # The loader's transaction nests in this one (a savepoint); the ledger row commits
            # with the data, so recovery knows whether this load happened.
            result = load(
                conn,
                feed_table_spec(feed),
                sources,
                truncate=truncate,
                should_stop=should_stop,
                on_progress=on_progress,
                keep_when_empty=True,
                on_lock_wait=on_lock_wait,
                on_committing=on_committing,
            )
            if not result.kept:
                load_ledger_record(
                    conn, run=run, feed=feed, files=files, truncate=truncate, result=result
                )
            return result
    except LoadStopped as stopped:
        _record_load(run_load, stopped.result, RunLoad.Status.FAILED, "stopped")
        raise RunStopped(stopped_message([])) from None
    except FileRefused as refused:
        _record_load(run_load, refused.result, RunLoad.Status.FAILED, str(refused))
        raise RunFailed(f"{feed.table_name}: {refused} Nothing was written to the table.") from None
    except LoadRejected as rejected:
        _record_load(run_load, rejected.result, RunLoad.Status.FAILED, str(rejected))
        _store_rejects(run, feed, rejected.result)
        raise RunFailed(f"{feed.table_name}: {rejected}") from None
    except ReaderError as exc:
        _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, str(exc))
        raise RunFailed(f"{feed.table_name}: {exc}. Nothing was written to the table.") from None


def _table_holder(run: CourierRun, feed: Feed) -> str:
    """Who is loading the feed's table besides this run, in words ("run 46")."""
    other = (
        RunLoad.objects.filter(
            feed=feed, status__in=[RunLoad.Status.LOADING, RunLoad.Status.COMMITTING]
        )
        .exclude(run=run)
        .order_by("-pk")
        .first()
    )
    return f"run {other.run_id}" if other else "another load"


def open_landed(
    client, courier, landed: LandedFile, settings: FileSettings
) -> tuple[BinaryIO, str]:
    """The landed object's bytes: decrypted, and the archive member opened, as needed.

    Only a key under the courier's prefix is read (KeyOutOfScope, an S3Error, otherwise)."""
    key, member = key_in_scope(courier, landed.key), landed.member
    seekable = settings.content_type in SEEKABLE_TYPES or bool(member)
    stream: BinaryIO = (
        RangedFile(client, courier.bucket, key)  # type: ignore[assignment]  # file-like
        if seekable and not key.endswith((".pgp", ".gpg"))
        else ResumingStream(client, courier.bucket, key, etag=landed.etag)
    )
    name = key
    if key.endswith((".pgp", ".gpg")):
        if not courier.pgp_credential_id:
            raise RunFailed(f"{key}: PGP error: the courier has no PGP credential to decrypt it")
        secrets = credential_secrets(courier.pgp_credential)
        stream = decrypt_pgp(
            stream, secrets.get("private_key", ""), secrets.get("passphrase"), name=key
        )
        name = key.rsplit(".", 1)[0]
    if member:
        stream = open_archive_member(stream, name, member)
        name = member
    return stream, name


def _record_load(run_load: RunLoad, result: LoadResult, status: str, error: str = "") -> None:
    run_load.status = status
    run_load.rows_read = result.rows_read
    run_load.inserted = result.inserted
    run_load.updated = result.updated
    run_load.rejected = result.rejected
    run_load.error = error
    run_load.finished_at = timezone.now()
    run_load.save()


def _store_rejects(run, feed, result: LoadResult) -> None:
    RunReject.objects.bulk_create(
        RunReject(
            run=run,
            feed=feed,
            file=r.file,
            row=r.row,
            field=r.field,
            value=r.value or "",
            reason=r.reason,
        )
        for r in result.rejects[:MAX_STORED_REJECTS]
    )
