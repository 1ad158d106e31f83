"""Courier runs: start, stop, and the moves of a run's status (the one place that moves it)."""

from __future__ import annotations

import logging
import threading
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.services import notification_status_post

from ..models import Courier, CourierRun, RunEvent
from .dispatch import (  # noqa: F401 - EXECUTE_RUN_TASK and queue_run are re-exported
    EXECUTE_RUN_TASK,
    outbox_dispatch,
    queue_run,
    run_dispatch_create,
    run_dispatch_send,
)
from .events import run_event
from .ledger import close_dead_attempt

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # a run whose worker dies this many times is failed, not retried again
LOST_WORKER = "The worker running this courier stopped without finishing"


def stale_after() -> timedelta:
    """A run whose worker has not reported for this long is presumed dead (killed, OOM,
    reboot). A live worker beats every few seconds whatever it is doing (see RunPulse)."""
    return timedelta(seconds=getattr(settings, "SOURCES_RUN_STALE_SECONDS", 30))


class CourierBusy(Exception):
    """The courier already has an active run."""


class RunRequestError(ValueError):
    """The run request itself is wrong (dates, mode)."""


class RunLost(Exception):
    """Another worker took this run over (the watchdog judged this one dead): stop quietly."""


def courier_run_start(
    *,
    courier: Courier,
    mode: str = CourierRun.Mode.DAY,
    start_date: date | None = None,
    end_date: date | None = None,
    ingest_only: bool = False,
    skip_missing: bool = False,
    reload: bool = False,
    started_by: str = "",
    user=None,
    wait_until: datetime | None = None,
    any_day: bool = False,
    queue: bool = True,
) -> CourierRun:
    """Record a run request with its outbox entry, and send it to the workers when the
    transaction commits. If the task queue is down then, the run stays queued and the beat
    dispatcher sends it when the queue is back (see services/dispatch.py); ``queue=False``
    records the run only (the caller sends it)."""
    start_date, end_date = _check_dates(mode, start_date, end_date)
    run = CourierRun(
        courier=courier,
        mode=mode,
        start_date=start_date,
        end_date=end_date,
        ingest_only=ingest_only,
        skip_missing=skip_missing,
        reload=reload,
        started_by=started_by or (user.get_username() if user else ""),
        user=user,
        wait_until=wait_until,
        any_day=any_day,
    )
    try:
        with transaction.atomic():
            run.save()
            entry = run_dispatch_create(run) if queue else None
    except IntegrityError:
        active = courier.runs.filter(status__in=CourierRun.ACTIVE_STATUSES).first()
        since = f", started {timezone.localtime(active.created_at):%H:%M}" if active else ""
        raise CourierBusy(
            f'Courier "{courier.name}" is already running (run {active.pk if active else "?"}'
            f"{since}). Wait for it to finish, or stop it, before starting another run."
        ) from None
    run_event(run, "Courier run request: " + run_description(run))
    _notify(run, Notification.Level.RUNNING, "Queued")
    if entry is not None:
        transaction.on_commit(lambda: run_dispatch_send(entry.pk))
    return run


def _check_dates(mode, start_date, end_date):
    if mode == CourierRun.Mode.DAY:
        if start_date is None:
            raise RunRequestError("Choose the day to load.")
        return start_date, start_date + timedelta(days=1)
    if mode == CourierRun.Mode.PERIOD:
        if start_date is None or end_date is None:
            raise RunRequestError("A time period needs a start and an end date.")
        if end_date <= start_date:
            raise RunRequestError("The end date is exclusive and must come after the start date.")
        return start_date, end_date
    if mode == CourierRun.Mode.ALL:
        return None, None
    raise RunRequestError(f"Unknown run mode {mode!r}.")


def run_description(run: CourierRun) -> str:
    if run.mode == CourierRun.Mode.ALL:
        what = "all available data"
    elif run.end_date and run.start_date and run.end_date - run.start_date == timedelta(days=1):
        what = f"data from {run.start_date:%Y-%m-%d}"
    else:
        what = f"data from {run.start_date:%Y-%m-%d} up to {run.end_date:%Y-%m-%d} (exclusive)"
    options = [
        label
        for flag, label in (
            (run.ingest_only, "ingest only"),
            (run.skip_missing, "skip missing files"),
            (run.reload, "reload files already loaded"),
        )
        if flag
    ]
    return what + (f" ({', '.join(options)})" if options else "")


def courier_run_stop(*, run: CourierRun) -> bool:
    """Stop a run. A queued (or waiting) run stops at once; a running one is asked to stop,
    and its worker stops between batches and rolls the load in progress back."""
    if CourierRun.objects.filter(pk=run.pk, status=CourierRun.Status.QUEUED).update(
        status=CourierRun.Status.STOPPING
    ):
        run_event(run, "Stop requested")
        run.refresh_from_db(fields=["attempts", "started_at", "created_at"])
        run_finish(run, CourierRun.Status.STOPPED, "It had not started: nothing was loaded.")
        return True
    moved = CourierRun.objects.filter(pk=run.pk, status=CourierRun.Status.RUNNING).update(
        status=CourierRun.Status.STOPPING
    )
    if moved:
        run_event(run, "Stop requested")
    return bool(moved)


def run_claim(run_id: int) -> CourierRun | None:
    """Take a queued run for this worker. None if it is not ours to run (finished, stopped,
    or running elsewhere: the watchdog puts a dead worker's run back in the queue)."""
    now = timezone.now()
    claimed = CourierRun.objects.filter(pk=run_id, status=CourierRun.Status.QUEUED).update(
        status=CourierRun.Status.RUNNING,
        heartbeat_at=now,
        started_at=now,
        attempts=F("attempts") + 1,
    )
    return CourierRun.objects.select_related("courier").get(pk=run_id) if claimed else None


def _owned(run: CourierRun):
    """The run's row while this worker's attempt still owns it."""
    return CourierRun.objects.filter(pk=run.pk, attempts=run.attempts)


def run_heartbeat(run: CourierRun, **counters) -> str:
    """Record progress; returns the run's current status (to notice a Stop request).
    Raises RunLost if another worker has taken the run over."""
    counters["heartbeat_at"] = timezone.now()
    if not _owned(run).update(**counters):
        raise RunLost(f"run {run.pk} attempt {run.attempts} was taken over")
    for name, value in counters.items():
        setattr(run, name, value)
    return CourierRun.objects.values_list("status", flat=True).get(pk=run.pk)


class RunPulse:
    """Beats the run's heartbeat from a thread while the worker is busy, so a long COPY or
    merge never looks like a dead worker; only a dead process stops beating."""

    def __init__(self, run: CourierRun) -> None:
        self.run = run
        self.interval = max(1.0, min(5.0, stale_after().total_seconds() / 6))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"run-{run.pk}-pulse", daemon=True)

    def __enter__(self) -> RunPulse:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    _owned(self.run).filter(status__in=CourierRun.ACTIVE_STATUSES).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # a DB hiccup: beat again on a fresh connection next time
                    logger.warning("run %s: heartbeat failed", self.run.pk, exc_info=True)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection


def run_finish(run: CourierRun, status: str, message: str = "", *, warning: bool = False) -> None:
    """Move a run to its final status and post its notification (unless it was taken over)."""
    now = timezone.now()
    if not _owned(run).update(status=status, finished_at=now, error=message):
        logger.warning("run %s attempt %s was taken over: not finishing it", run.pk, run.attempts)
        return
    run.status, run.finished_at, run.error = status, now, message
    if status == CourierRun.Status.SUCCEEDED:
        line = f"Completed in {duration_words(now - (run.started_at or run.created_at))}"
        run_event(run, line)
        level = Notification.Level.WARNING if warning else Notification.Level.COMPLETED
        _notify(run, level, line + (f"\n{message}" if message else ""))
    elif status == CourierRun.Status.STOPPED:
        run_event(run, "Stopped. " + message, RunEvent.Level.WARNING)
        _notify(run, Notification.Level.WARNING, "Stopped. " + message)
    else:
        run_event(run, message, RunEvent.Level.ERROR)
        _notify(run, Notification.Level.ERROR, message)


def runs_watchdog(*, now: datetime | None = None) -> list[int]:
    """Send runs the task queue never got; requeue runs whose worker died, closing the dead
    attempt with what really happened; fail them after MAX_ATTEMPTS. Returns the stale run
    ids seen.

    A run is put back in the queue only if its heartbeat is still stale at that moment, so a
    worker that was merely slow loses nothing: its next heartbeat notices the takeover and it
    stops, rolling its load back (RunLost)."""
    now = now or timezone.now()
    outbox_dispatch(now=now)  # runs stuck queued because the broker was down
    cutoff = now - stale_after()
    stale = CourierRun.objects.filter(
        status__in=[CourierRun.Status.RUNNING, CourierRun.Status.STOPPING],
        heartbeat_at__lt=cutoff,
    ).select_related("courier")
    seen = []
    for run in stale:
        seen.append(run.pk)
        with transaction.atomic():
            locked = (
                CourierRun.objects.select_for_update(skip_locked=True)
                .filter(pk=run.pk, attempts=run.attempts, heartbeat_at__lt=cutoff)
                .filter(status__in=[CourierRun.Status.RUNNING, CourierRun.Status.STOPPING])
                .first()
            )
            if locked is None:  # it beat meanwhile, or another watchdog has it
                continue
            _recover(locked, now)
    return seen


def _recover(run: CourierRun, now: datetime) -> None:
    deaths = run.events.filter(message__startswith=LOST_WORKER).count() + 1
    committed, rolled_back = close_dead_attempt(run, now=now)
    what = _attempt_outcome(committed, rolled_back)
    if run.status == CourierRun.Status.STOPPING:
        run_finish(run, CourierRun.Status.STOPPED, f"The worker stopped before finishing; {what}")
    elif deaths >= MAX_ATTEMPTS:
        unchanged = (
            "No domain table was changed by the unfinished load."
            if not committed
            else f"Committed before it stopped: {', '.join(committed)}; nothing else changed."
        )
        run_finish(
            run,
            CourierRun.Status.FAILED,
            f"The worker running this courier stopped {deaths} times without finishing "
            f"(killed or out of memory?). {unchanged} Run the courier again, or check the "
            "worker's log.",
        )
    else:
        CourierRun.objects.filter(pk=run.pk).update(
            status=CourierRun.Status.QUEUED, rows_done=0, files_done=0
        )
        run_event(
            run,
            f"{LOST_WORKER}; {what} Retrying (attempt {deaths + 1} of {MAX_ATTEMPTS}).",
            RunEvent.Level.WARNING,
        )
        entry = run_dispatch_create(run)  # due at once (``now`` may be a test's future)
        transaction.on_commit(lambda: run_dispatch_send(entry.pk))


def _attempt_outcome(committed: list[str], rolled_back: list[str]) -> str:
    """What the dead attempt left behind, from its RunLoad rows and the load ledger."""
    parts = []
    if committed:
        parts.append(f"{', '.join(committed)} committed before it stopped")
    if rolled_back:
        parts.append(f"the load of {', '.join(rolled_back)} in progress was rolled back")
    if not parts:
        return "no load was in progress."
    return "; ".join(parts) + "."


def duration_words(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' * (hours != 1)}")
    if minutes or hours:
        parts.append(f"{minutes} minute{'s' * (minutes != 1)}")
    parts.append(f"{seconds} second{'s' * (seconds != 1)}")
    return " ".join(parts)


def _notify(run: CourierRun, level: str, message: str) -> None:
    notification_status_post(
        what=f"Courier {run.courier.name}",
        level=level,
        message=message,
        url=reverse("couriers:run_detail", args=[run.pk]),
        subject=f"courier-run:{run.pk}",
    )
