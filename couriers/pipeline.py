"""What a worker does with a courier run, in order:

resolve each entity's pattern for the run's dates → list the bucket → land (record) the
matching objects → check the load operations against the feeds → load each feed's files
(truncate first) in file-date order → record counts → finish and notify.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from credentials.errors import describe_s3_error
from feeds.models import Feed
from feeds.readers import ReaderError

from .feed_load import (
    RunFailed,
    RunStopped,
    load_feed,
    run_s3_client,
    stopped_message,
    table_rows,
)
from .heap.runs import heap_run
from .landing import archive_members, find_entity_objects, land_object, run_dates
from .models import Courier, CourierRun, LandedFile, LoadedObject, RunEvent
from .s3 import KeyOutOfScope, RangedFile, S3Error
from .services.ledger import (
    database_fault,
    load_ledger_adopt,
    load_ledger_committed,
    load_ledger_tables,
)
from .services.runs import RunLost, RunPulse, run_claim, run_event, run_finish, run_heartbeat

logger = logging.getLogger(__name__)


class WaitForFiles(Exception):
    """Required files are missing but the run may still wait for them."""


def courier_run_execute(run_id: int) -> str | None:
    """Run a queued run to its end. Returns "wait" when it should be retried later."""
    run = run_claim(run_id)
    if run is None:
        return None  # finished, stopped, or another worker has it
    try:
        with RunPulse(run):
            return _execute(run)
    except RunLost:
        # The watchdog judged this worker dead and requeued the run: the other attempt owns
        # it now. Our load (if any) was rolled back when the exception left the loader.
        logger.warning("courier run %s was taken over by another worker", run.pk)
        return None


def _execute(run: CourierRun) -> str | None:
    run_event(
        run, "Courier run started" + (f" (attempt {run.attempts})" if run.attempts > 1 else "")
    )
    try:
        if run.courier.kind == Courier.Kind.HEAP:
            # Heap Connect delivers numbered dumps described by manifests, not dated names.
            warnings = heap_run(run)
            run_finish(
                run, CourierRun.Status.SUCCEEDED, "\n".join(warnings), warning=bool(warnings)
            )
            return None
        landed, warnings = land_files(run)
        if run.ingest_only:
            run_heartbeat(run, files_done=len(landed))
            done = f"Landed {len(landed)} file{'s' * (len(landed) != 1)} (ingest only)."
            run_finish(
                run,
                CourierRun.Status.SUCCEEDED,
                "\n".join([*warnings, done]),
                warning=bool(warnings),
            )
            return None
        warnings += apply_load_operations(run, landed)
        run_finish(run, CourierRun.Status.SUCCEEDED, "\n".join(warnings), warning=bool(warnings))
    except WaitForFiles as waiting:
        # Back to the queue, unless a Stop arrived meanwhile.
        if CourierRun.objects.filter(pk=run.pk, status=CourierRun.Status.RUNNING).update(
            status=CourierRun.Status.QUEUED
        ):
            run_event(run, str(waiting))
            return "wait"
        run_finish(run, CourierRun.Status.STOPPED, "Nothing was loaded.")
    except RunStopped as stopped:
        run_finish(run, CourierRun.Status.STOPPED, str(stopped))
    except RunFailed as failure:
        run_finish(run, CourierRun.Status.FAILED, str(failure))
    except S3Error as exc:
        run_finish(run, CourierRun.Status.FAILED, str(exc.problem))
    except (ClientError, BotoCoreError) as exc:
        problem = describe_s3_error(exc, bucket=run.courier.bucket)
        run_finish(run, CourierRun.Status.FAILED, str(problem))
    except RunLost:
        raise
    except Exception as exc:  # a bug or an outage: say so, keep the traceback in the log
        if database_fault(exc):
            # The run record cannot be written either: the pulse stops, and the watchdog
            # requeues the run from the ledger's truth once the database is back.
            logger.warning("courier run %s: database connection lost", run.pk, exc_info=True)
            raise
        logger.exception("courier run %s failed", run.pk)
        run_finish(run, CourierRun.Status.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
    return None


def _check_stop(run: CourierRun) -> None:
    """Honour a Stop between steps, saying which tables this run really committed."""
    if run_heartbeat(run) == CourierRun.Status.STOPPING:
        raise RunStopped(stopped_message(load_ledger_tables(run)))


# ------------------------------------------------------------------ landing
def land_files(run: CourierRun) -> tuple[list[LandedFile], list[str]]:
    """The landed files in load order (file date, then key), and the run's warnings: required
    files skipped because the run was asked to skip missing files."""
    courier = run.courier
    client = run_s3_client(run)
    run_event(run, "Waiting for source data")
    landed: list[LandedFile] = []
    missing_required: list[str] = []
    skipped: list[str] = []
    for index, entity in enumerate(courier.entities):
        _check_stop(run)
        try:
            objects, missing = find_entity_objects(client, run, entity)
        except KeyOutOfScope as exc:
            raise RunFailed(f"entities[{index}]: {exc.problem}") from None
        for miss in missing:
            if entity.get("object/optional"):
                run_event(run, f"Skipped missing optional file: {miss}", RunEvent.Level.WARNING)
            elif run.skip_missing:
                skipped.append(f"Skipped missing file: {miss}")
                run_event(run, skipped[-1], RunEvent.Level.WARNING)
            else:
                missing_required.append(f"entities[{index}]: {miss}")
        for obj, file_date in objects:
            if entity.get("object/type") == "archive":
                opener = lambda key: RangedFile(client, courier.bucket, key)  # noqa: E731
                try:
                    parts, lacking = archive_members(
                        opener, obj, entity.get("archive/contents", {})
                    )
                except ReaderError as exc:  # refused archive (limits, unsafe members)
                    raise RunFailed(f"{exc}. Nothing was loaded.") from None
                for wanted in lacking:
                    miss = f'{obj.key} holds no member "{wanted}"'
                    if entity.get("archive/skip-missing-contents") or run.skip_missing:
                        skipped.append(f"Skipped missing archive member: {miss}")
                        run_event(run, skipped[-1], RunEvent.Level.WARNING)
                    else:
                        missing_required.append(f"entities[{index}]: {miss}")
            else:
                parts = [("", entity.get("object/land-as", {}))]
            for member, land_as in parts:
                landed.append(
                    land_object(courier=courier, run=run, obj=obj, land_as=land_as,
                                member=member, file_date=file_date)
                )  # fmt: skip
    if missing_required:
        if run.wait_until and timezone.now() < run.wait_until:
            raise WaitForFiles(
                "Waiting for source data until "
                f"{timezone.localtime(run.wait_until):%Y-%m-%d %H:%M %Z}: "
                + "; ".join(missing_required)
            )
        raise RunFailed(
            "Missing required file: "
            + "; ".join(missing_required)
            + ". Check the file pattern and the date, mark the entity optional, "
            "or run with Skip missing files."
        )
    landed.sort(key=lambda f: (f.file_date or date.min, f.key))
    run_heartbeat(run, files_total=len(landed))
    run_event(run, f"Landed {len(landed)} file{'s' * (len(landed) != 1)}")
    return landed, skipped


# ------------------------------------------------------------------ loading
def apply_load_operations(run: CourierRun, landed: list[LandedFile]) -> list[str]:
    operations: dict = run.courier.load_operations or {}
    if not operations:
        run_event(run, "No load operations: files landed only")
        return []
    feeds = {f.pk: f for f in Feed.objects.filter(pk__in=operations, status=Feed.Status.ACTIVE)}
    missing = [feed_id for feed_id in operations if feed_id not in feeds]
    if missing:
        raise RunFailed(
            "Error running load-operations task\nCannot find required feeds: "
            + ", ".join(f'"{feed_id}"' for feed_id in missing)
        )
    run_event(run, "Loading data")
    plan = [
        _feed_plan(run, feeds[feed_id], feed_ops, landed)
        for feed_id, feed_ops in operations.items()
    ]
    # The progress bar counts the files this run loads, not those loaded before.
    run_heartbeat(run, files_total=sum(len(p.files) for p in plan), files_done=0)
    warnings: list[str] = []
    rows_before = 0
    for feed_plan in plan:
        feed = feed_plan.feed
        _check_stop(run)
        committed = load_ledger_committed(run, feed)
        if committed is not None:  # an earlier attempt of this run committed it, then died
            load_ledger_adopt(run, committed)
            run_event(
                run,
                f"{feed.table_name}: committed by attempt {committed.attempt} before its worker "
                f"stopped ({committed.rows_read:,} rows read, {committed.inserted:,} inserted, "
                f"{committed.updated:,} updated); not loaded again",
            )
            rows_before += committed.rows_read
            continue
        if not feed_plan.files:
            warnings.append(_nothing_to_load(run, feed_plan))
            run_event(run, warnings[-1], RunEvent.Level.WARNING)
        try:
            done = load_feed(
                run, feed, feed_plan.files, truncate=feed_plan.truncate, rows_before=rows_before
            )
        except RunStopped:
            raise RunStopped(stopped_message(load_ledger_tables(run))) from None
        result = done.result
        rows_before += result.rows_read
        warnings += done.warnings
        if result.rejected:
            warnings.append(
                f"{feed.table_name}: {result.rejected} row{'s' * (result.rejected != 1)} rejected "
                "(see the run's error log)"
            )
    _check_stop(run)  # a Stop that came while the last load committed ends the run Stopped
    return warnings


@dataclass
class FeedPlan:
    feed: Feed
    truncate: bool
    files: list[LandedFile]  # to load, in load order
    loaded_before: list[LandedFile]  # found, but already loaded: skipped


def _feed_plan(run: CourierRun, feed: Feed, feed_ops: list, landed: list[LandedFile]) -> FeedPlan:
    """The files this run loads into one feed.

    A feed that truncates loads every file found for the run's dates, loaded before or not,
    so re-running a day gives the table the first run gave (it is replaced, not emptied). An
    upsert-only feed skips files already loaded (same key and ETag) unless the run reloads:
    upserting them again would change no value, only move the generated updated field of
    their rows to now, as if they had changed."""
    truncate = any(op.get("type") == "truncate" for op in feed_ops)
    tags = {op.get("file") for op in feed_ops if op.get("type") == "load"}
    files = [f for f in landed if f.tag in tags]
    before: list[LandedFile] = []
    if not truncate and not run.reload:
        done = set(
            LoadedObject.objects.filter(feed=feed, key__in=[f.key for f in files]).values_list(
                "key", "member", "etag"
            )
        )
        before = [f for f in files if (f.key, f.member, f.etag) in done]
        files = [f for f in files if (f.key, f.member, f.etag) not in done]
        if before and files:
            run_event(
                run,
                f"{feed.table_name}: {_files(len(before))} loaded before, skipped: "
                + ", ".join(f.label for f in before),
            )
    return FeedPlan(feed, truncate, files, before)


def _nothing_to_load(run: CourierRun, plan: FeedPlan) -> str:
    """Why a feed's table was left as it was, with its size, and what to do."""
    table, when, rows = plan.feed.table_name, run_dates(run), table_rows(plan.feed)
    if not plan.loaded_before:
        return f"{table}: nothing to load {when}; the table was kept ({rows})"
    n = len(plan.loaded_before)
    return (
        f"{table}: nothing new to load {when}: {_files(n)} {'was' if n == 1 else 'were'} "
        f"loaded before ({', '.join(f.label for f in plan.loaded_before)}); the table was kept "
        f"({rows}). Run with “Reload files already loaded” to load "
        f"{'it' if n == 1 else 'them'} again."
    )


def _files(n: int) -> str:
    return f"{n} file{'s' * (n != 1)}"
