"""What a worker does with a courier run, in order:

resolve each entity's pattern for the run's dates → list the bucket → land (record) the
matching objects → check the load operations against the feeds → load each feed's files
(truncate first) in file-date order → record counts → finish and notify.
"""

from __future__ import annotations

import logging
from datetime import date

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from credentials.errors import describe_s3_error
from feeds.models import Feed
from feeds.readers import ReaderError

from .feed_load import RunFailed, RunStopped, load_feed, run_s3_client, stopped_message
from .heap.runs import heap_run
from .landing import archive_members, find_entity_objects, land_object
from .models import Courier, CourierRun, LandedFile, LoadedObject, RunEvent
from .s3 import RangedFile, S3Error
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
        raise RunStopped(stopped_message(loaded))


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
                try:
                    parts = archive_members(opener, obj, entity.get("archive/contents", {}))
                except ReaderError as exc:  # refused archive (limits, unsafe members)
                    raise RunFailed(f"{exc}. Nothing was loaded.") from None
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
            raise RunStopped(stopped_message(loaded)) from None
        loaded.append(feed.table_name)
        rows_before += result.rows_read
        if result.rejected:
            warnings.append(
                f"{feed.table_name}: {result.rejected} row{'s' * (result.rejected != 1)} rejected "
                "(see the run's error log)"
            )
    return warnings
