"""Housekeeping across the apps (beat)."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from couriers.services.retention import runs_prune
from notifications.services import notifications_prune

logger = logging.getLogger(__name__)


def retention_prune(*, now=None) -> dict[str, int]:
    """Prune run events, rejected rows and notifications older than SOURCES_RETENTION_DAYS."""
    before = (now or timezone.now()) - timedelta(days=settings.SOURCES_RETENTION_DAYS)
    pruned = runs_prune(before=before)
    pruned["notifications"] = notifications_prune(before=before)
    return pruned


@shared_task(name="sources.retention", ignore_result=True)
def retention() -> None:
    pruned = retention_prune()
    if any(pruned.values()):
        logger.info("retention (%s days): pruned %s", settings.SOURCES_RETENTION_DAYS, pruned)
