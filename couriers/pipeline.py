"""What a worker does with a courier run, in order:

resolve each entity's pattern for the run's dates → list the bucket → land (record) the
matching objects → check the load operations against the feeds → load each feed's files
(truncate first) in file-date order → record counts → finish and notify.
"""

from __future__ import annotations

import logging
import time
from datetime import date
from typing import BinaryIO

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction
from django.utils import timezone

from amperity_sources.db import domain_connection
from credentials.errors import describe_s3_error
from credentials.services import credential_secrets, s3_client
from feeds.loader import LoadRejected, LoadResult, LoadStopped, SourceFile, load
from feeds.models import Feed
from feeds.readers import (
    FileSettings,
    ReaderError,
    decrypt_pgp,
    open_archive_member,
    open_reader,
)
from feeds.services import feed_table_spec

from .landing import archive_members, find_entity_objects, land_object
from .models import Courier, CourierRun, LandedFile, LoadedObject, RunEvent, RunLoad, RunReject
from .resuming import ResumingStream
from .s3 import RangedFile, S3Error
from .services.runs import RunLost, RunPulse, run_claim, run_event, run_finish, run_heartbeat

logger = logging.getLogger(__name__)
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
            from .heap.runs import heap_run

            warnings = heap_run(run)
            run_finish(
                run, CourierRun.Status.SUCCEEDED, "\n".join(warnings), warning=bool(warnings)
            )
            return None
        landed = land_files(run)
        if run.ingest_only:
            run_heartbeat(run, files_done=len(landed))
            run_finish(
                run,
                CourierRun.Status.SUCCEEDED,
                f"Landed {len(landed)} file{'s' * (len(landed) != 1)} (ingest only).",
            )
            return None
        warnings = apply_load_operations(run, landed)
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
        logger.exception("courier run %s failed", run.pk)
        run_finish(run, CourierRun.Status.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
    return None


def _check_stop(run: CourierRun, loaded: list[str]) -> None:
    if run_heartbeat(run) == CourierRun.Status.STOPPING:
        raise RunStopped(_stopped_message(loaded))


def _stopped_message(loaded: list[str]) -> str:
    if not loaded:
        return "No domain table was changed."
    return (
        "The load in progress was rolled back. Loaded completely before the stop: "
        + ", ".join(loaded)
        + "."
    )


def run_s3_client(run: CourierRun):
    """One S3 client per run: building one (session, endpoint resolution) costs most of a second."""
    if getattr(run, "_s3_client", None) is None:
        run._s3_client = s3_client(run.courier.credential)
    return run._s3_client


# ------------------------------------------------------------------ landing
def land_files(run: CourierRun) -> list[LandedFile]:
    courier = run.courier
    client = run_s3_client(run)
    run_event(run, "Waiting for source data")
    landed: list[LandedFile] = []
    missing_required: list[str] = []
    for index, entity in enumerate(courier.entities):
        _check_stop(run, [])
        objects, missing = find_entity_objects(client, run, entity)
        for miss in missing:
            if entity.get("object/optional") or run.skip_missing:
                run_event(run, f"Skipped missing file: {miss}", RunEvent.Level.WARNING)
            else:
                missing_required.append(f"entities[{index}]: {miss}")
        for obj, file_date in objects:
            if entity.get("object/type") == "archive":
                opener = lambda key: RangedFile(client, courier.bucket, key)  # noqa: E731
                parts = archive_members(opener, obj, entity.get("archive/contents", {}))
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
    return landed


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
    plan = []
    for feed_id, feed_ops in operations.items():
        feed = feeds[feed_id]
        truncate = any(op.get("type") == "truncate" for op in feed_ops)
        tags = {op.get("file") for op in feed_ops if op.get("type") == "load"}
        files = [f for f in landed if f.tag in tags]
        if not run.reload:
            done = set(
                LoadedObject.objects.filter(feed=feed, key__in=[f.key for f in files]).values_list(
                    "key", "etag"
                )
            )
            files = [f for f in files if (f.key, f.etag) not in done]
        plan.append((feed, truncate, files))
    # The progress bar counts the files this run loads, not those loaded before.
    run_heartbeat(run, files_total=sum(len(files) for _, _, files in plan), files_done=0)
    warnings: list[str] = []
    loaded: list[str] = []
    rows_before = 0
    for feed, truncate, files in plan:
        _check_stop(run, loaded)
        try:
            result = load_feed(run, feed, files, truncate=truncate, rows_before=rows_before)
        except RunStopped:
            raise RunStopped(_stopped_message(loaded)) from None
        loaded.append(feed.table_name)
        rows_before += result.rows_read
        if result.rejected:
            warnings.append(
                f"{feed.table_name}: {result.rejected} row{'s' * (result.rejected != 1)} rejected "
                "(see the run's error log)"
            )
    return warnings


def load_feed(
    run, feed: Feed, files: list[LandedFile], *, truncate: bool, rows_before: int
) -> LoadResult:
    """Load ``files`` into the feed's table in one transaction: all of them or nothing."""
    run_load = RunLoad.objects.create(
        run=run,
        feed=feed,
        truncate=truncate,
        files=[f.key for f in files],
        status=RunLoad.Status.LOADING,
    )
    if not files and not truncate:
        run_load.status = RunLoad.Status.SKIPPED
        run_load.finished_at = timezone.now()
        run_load.save()
        run_event(run, f"{feed.table_name}: nothing new to load")
        return LoadResult()
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
    with transaction.atomic():
        _record_load(run_load, result, RunLoad.Status.SUCCEEDED)
        _store_rejects(run, feed, result)
        for f in files:
            LoadedObject.objects.get_or_create(
                feed=feed, key=f.key, etag=f.etag, defaults={"run": run}
            )
        Feed.objects.filter(pk=feed.pk).update(last_loaded_at=timezone.now())
    run_event(
        run,
        f"{feed.table_name}: {result.rows_read} rows read, {result.inserted} inserted, "
        f"{result.updated} updated, {result.rejected} rejected",
    )
    return result


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

    sources = [SourceFile(name=f.key, batches=batches_of(f), file_date=f.file_date) for f in files]

    def should_stop() -> bool:
        status = run_heartbeat(run, files_done=files_before + opened[0])
        return status == CourierRun.Status.STOPPING

    def on_progress(rows: int) -> None:
        run_heartbeat(run, rows_done=rows_before + rows, files_done=files_before + opened[0])

    try:
        with domain_connection() as conn:
            return load(
                conn,
                feed_table_spec(feed),
                sources,
                truncate=truncate,
                should_stop=should_stop,
                on_progress=on_progress,
            )
    except LoadStopped as stopped:
        _record_load(run_load, stopped.result, RunLoad.Status.FAILED, "stopped")
        raise RunStopped(_stopped_message([])) from None
    except LoadRejected as rejected:
        _record_load(run_load, rejected.result, RunLoad.Status.FAILED, str(rejected))
        _store_rejects(run, feed, rejected.result)
        raise RunFailed(f"{feed.table_name}: {rejected}") from None
    except ReaderError as exc:
        _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, str(exc))
        raise RunFailed(f"{feed.table_name}: {exc}. Nothing was written to the table.") from None


def open_landed(
    client, courier, landed: LandedFile, settings: FileSettings
) -> tuple[BinaryIO, str]:
    """The landed object's bytes: decrypted, and the archive member opened, as needed."""
    key, _, member = landed.key.partition("#")
    seekable = settings.content_type in SEEKABLE_TYPES or bool(member)
    stream: BinaryIO = (
        RangedFile(client, courier.bucket, key)
        if seekable and not key.endswith((".pgp", ".gpg"))
        else ResumingStream(client, courier.bucket, key, etag=landed.etag)
    )
    name = key
    if key.endswith((".pgp", ".gpg")):
        if not courier.pgp_credential_id:
            raise RunFailed(f"{key}: PGP error: the courier has no PGP credential to decrypt it")
        secrets = credential_secrets(courier.pgp_credential)
        stream = decrypt_pgp(stream, secrets.get("private_key", ""), secrets.get("passphrase"))
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
