"""What a worker does with a courier run, in order:

resolve each entity's pattern for the run's dates → list the bucket → land (record) the
matching objects → check the load operations against the feeds → load each feed's files
(truncate first) in file-date order → record counts → finish and notify.
"""

from __future__ import annotations

import logging
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
from .s3 import RangedFile, open_stream
from .services.runs import run_claim, run_event, run_finish, run_heartbeat

logger = logging.getLogger(__name__)
SEEKABLE_TYPES = {"application/x-parquet"}
MAX_STORED_REJECTS = 10_000


class RunFailed(Exception):
    """Ends the run as Failed with this message."""


class RunStopped(Exception):
    pass


class WaitForFiles(Exception):
    """Required files are missing but the run may still wait for them."""


def courier_run_execute(run_id: int) -> str | None:
    """Run a queued run to its end. Returns "wait" when it should be retried later."""
    run = run_claim(run_id)
    if run is None:
        return None  # finished, stopped, or another worker has it
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
            run_finish(
                run,
                CourierRun.Status.SUCCEEDED,
                f"Landed {len(landed)} file{'s' * (len(landed) != 1)} (ingest only).",
            )
            return None
        warnings = apply_load_operations(run, landed)
        run_finish(run, CourierRun.Status.SUCCEEDED, "\n".join(warnings), warning=bool(warnings))
    except WaitForFiles as waiting:
        CourierRun.objects.filter(pk=run.pk).update(status=CourierRun.Status.QUEUED)
        run_event(run, str(waiting))
        return "wait"
    except RunStopped:
        run_finish(
            run, CourierRun.Status.STOPPED, "No domain table was changed by the stopped load."
        )
    except RunFailed as failure:
        run_finish(run, CourierRun.Status.FAILED, str(failure))
    except (ClientError, BotoCoreError) as exc:
        problem = describe_s3_error(exc, bucket=run.courier.bucket)
        run_finish(run, CourierRun.Status.FAILED, str(problem))
    except Exception as exc:  # a bug or an outage: say so, keep the traceback in the log
        logger.exception("courier run %s failed", run.pk)
        run_finish(run, CourierRun.Status.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}")
    return None


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
        objects, missing = find_entity_objects(client, run, entity)
        for miss in missing:
            if entity.get("object/optional") or run.skip_missing:
                run_event(run, f"Skipped missing file: {miss}", RunEvent.Level.WARNING)
            else:
                missing_required.append(f"entities[{index}]: {miss}")
        for obj in objects:
            if entity.get("object/type") == "archive":
                opener = lambda key: RangedFile(client, courier.bucket, key)  # noqa: E731
                for member, land_as in archive_members(
                    opener, obj, entity.get("archive/contents", {})
                ):
                    landed.append(land_object(run, obj, land_as, member))
            else:
                landed.append(land_object(run, obj, entity.get("object/land-as", {})))
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
    warnings: list[str] = []
    rows_before = 0
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
        result = load_feed(run, feed, files, truncate=truncate, rows_before=rows_before)
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
    client = run_s3_client(run)
    sources = [
        SourceFile(name=f.key, batches=_batches(run, client, f), file_date=f.file_date)
        for f in files
    ]

    def should_stop() -> bool:
        return run_heartbeat(run) == CourierRun.Status.STOPPING

    def on_progress(rows: int) -> None:
        run_heartbeat(run, rows_done=rows_before + rows)

    try:
        with domain_connection() as conn:
            result = load(
                conn,
                feed_table_spec(feed),
                sources,
                truncate=truncate,
                should_stop=should_stop,
                on_progress=on_progress,
            )
    except LoadStopped as stopped:
        _record_load(run_load, stopped.result, RunLoad.Status.FAILED, "stopped")
        raise RunStopped() from None
    except LoadRejected as rejected:
        _record_load(run_load, rejected.result, RunLoad.Status.FAILED, str(rejected))
        _store_rejects(run, feed, rejected.result)
        raise RunFailed(f"{feed.table_name}: {rejected}") from None
    except ReaderError as exc:
        _record_load(run_load, LoadResult(), RunLoad.Status.FAILED, str(exc))
        raise RunFailed(f"{feed.table_name}: {exc}. Nothing was written to the table.") from None
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


def _batches(run: CourierRun, client, landed: LandedFile):
    def open_batches():
        run_heartbeat(run, files_done=run.files_done + 1)
        settings = FileSettings.from_dict(landed.file_settings)
        stream, name = open_landed(client, run.courier, landed, settings)
        return open_reader(stream, name, settings).batches()

    return open_batches


def open_landed(
    client, courier, landed: LandedFile, settings: FileSettings
) -> tuple[BinaryIO, str]:
    """The landed object's bytes: decrypted, and the archive member opened, as needed."""
    key, _, member = landed.key.partition("#")
    seekable = settings.content_type in SEEKABLE_TYPES or bool(member)
    stream: BinaryIO = (
        RangedFile(client, courier.bucket, key)
        if seekable and not key.endswith((".pgp", ".gpg"))
        else open_stream(client, courier.bucket, key)
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
