"""A run's status lines (shared by the run services, the outbox and the recovery path)."""

from __future__ import annotations

import logging

from ..models import CourierRun, RunEvent

logger = logging.getLogger("couriers.services.runs")


def run_event(run: CourierRun, message: str, level: str = RunEvent.Level.INFO) -> None:
    RunEvent.objects.create(run=run, message=message, level=level)
    logger.info("courier run %s: %s", run.pk, message)
