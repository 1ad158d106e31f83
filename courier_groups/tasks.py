"""Celery tasks: thin wrappers around the scheduler services."""

import logging

from celery import shared_task
from django.utils import timezone

from .services.scheduler import advance_one, scheduler_tick

logger = logging.getLogger(__name__)
CHUNK = 50


@shared_task(name="courier_groups.tick", ignore_result=True)
def tick() -> None:
    """Beat, every minute: start what is due; hand runs with work to do to the workers."""
    result = scheduler_tick(now=timezone.now(), advance=False)
    for error in result.errors:  # reported, not raised: the next minute must still tick
        logger.warning("scheduler: %s", error)
    for i in range(0, len(result.to_advance), CHUNK):
        advance_runs.delay(result.to_advance[i : i + CHUNK])


@shared_task(name="courier_groups.advance_runs", ignore_result=True)
def advance_runs(run_ids: list[int]) -> None:
    for run_id in run_ids:
        advance_one(run_id, timezone.now())
