"""The run outbox: a run request and its dispatch entry commit together; the entry is sent to
the task queue by whoever sees it first (the request's on_commit, or the beat dispatcher every
few seconds). A broker outage therefore delays a run and never strands it.

A sender claims an entry with a lease before sending, so two senders rarely send one run twice;
when they do (a sender died between sending and marking), the worker's run_claim runs it once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from amperity_sources.celery import app as celery_app

from ..models import CourierRun, RunDispatch, RunEvent
from .events import run_event

logger = logging.getLogger(__name__)
EXECUTE_RUN_TASK = "couriers.execute_run"
LEASE = timedelta(seconds=30)  # a sender that claimed an entry and died is taken over after it
QUEUE_DOWN = "Queued; the task queue is unavailable, it will start when it is back."
QUEUE_BACK = "The task queue is back: the run was sent to the workers."
# One quick retry: a request must not hang on a dead broker (the dispatcher tries again).
SEND_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0.2,
    "interval_step": 0.3,
    "interval_max": 0.5,
}


def queue_run(run_id: int) -> None:
    """Send the run to the workers. By task name, so the services do not import the tasks
    module (which imports the pipeline, which imports the services)."""
    celery_app.send_task(
        EXECUTE_RUN_TASK, args=[run_id], retry=True, retry_policy=SEND_RETRY_POLICY
    )


def run_dispatch_create(run: CourierRun, *, due_at: datetime | None = None) -> RunDispatch:
    """The outbox entry of a run; create it in the transaction that queues the run."""
    return RunDispatch.objects.create(run=run, due_at=due_at or timezone.now())


def run_dispatch_pending(run: CourierRun) -> bool:
    """True while the run waits for the task queue (its entry was not sent yet)."""
    return RunDispatch.objects.filter(run=run, dispatched_at__isnull=True).exists()


def run_dispatch_send(entry_id: int, *, now: datetime | None = None) -> bool | None:
    """Send one entry. True: sent; False: the task queue is unavailable (the entry stays
    pending); None: nothing to do (sent by someone else, not due, or claimed by a live
    sender)."""
    now = now or timezone.now()
    claimed = (
        RunDispatch.objects.filter(pk=entry_id, dispatched_at__isnull=True, due_at__lte=now)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE))
        .update(claimed_at=now)
    )
    if not claimed:
        return None
    entry = RunDispatch.objects.select_related("run").get(pk=entry_id)
    run = entry.run
    if run.status != CourierRun.Status.QUEUED:  # stopped before it was sent: nothing to send
        RunDispatch.objects.filter(pk=entry_id).update(dispatched_at=now, claimed_at=None)
        return None
    try:
        queue_run(run.pk)
    except Exception as exc:  # kombu's OperationalError, a refused or reset socket, ...
        logger.warning("run %s: the task queue is unavailable (%s); it stays in the outbox",
                       run.pk, exc)  # fmt: skip
        RunDispatch.objects.filter(pk=entry_id).update(
            claimed_at=None, failures=entry.failures + 1, last_error=f"{type(exc).__name__}: {exc}"
        )
        if entry.failures == 0:
            run_event(run, QUEUE_DOWN, RunEvent.Level.WARNING)
        return False
    RunDispatch.objects.filter(pk=entry_id).update(dispatched_at=now, claimed_at=None)
    if entry.failures:
        run_event(run, QUEUE_BACK)
    return True


@dataclass
class DispatchSummary:
    sent: list[int] = field(default_factory=list)  # run ids
    unavailable: bool = False


def outbox_dispatch(*, now: datetime | None = None, limit: int = 200) -> DispatchSummary:
    """Send every due entry, oldest first; stop at the first broker failure (the next beat
    tries again rather than hammering a broker that is down)."""
    now = now or timezone.now()
    summary = DispatchSummary()
    pending = RunDispatch.objects.filter(dispatched_at__isnull=True, due_at__lte=now)
    for entry_id, run_id in pending.order_by("due_at", "id").values_list("pk", "run_id")[:limit]:
        sent = run_dispatch_send(entry_id, now=now)
        if sent is False:
            summary.unavailable = True
            break
        if sent:
            summary.sent.append(run_id)
    return summary
