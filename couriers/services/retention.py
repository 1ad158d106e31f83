"""Retention: the status lines, rejected rows, outbox entries and ledger rows of runs that
finished long ago are pruned, so they do not grow for ever. The run records themselves (the
run history and its chart) are kept."""

from __future__ import annotations

from datetime import datetime

from ..models import CourierRun, LoadLedger, RunDispatch, RunEvent, RunReject


def runs_prune(*, before: datetime) -> dict[str, int]:
    """Prune what belongs to runs finished before ``before``; active runs keep everything
    (the watchdog counts a run's lost-worker events)."""
    old_runs = CourierRun.objects.filter(finished_at__lt=before).exclude(
        status__in=CourierRun.ACTIVE_STATUSES
    )
    return {
        "run events": RunEvent.objects.filter(run__in=old_runs).delete()[0],
        "rejected rows": RunReject.objects.filter(run__in=old_runs).delete()[0],
        "outbox entries": RunDispatch.objects.filter(
            dispatched_at__lt=before, run__in=old_runs
        ).delete()[0],
        "ledger rows": LoadLedger.objects.filter(run__in=old_runs).delete()[0],
    }
