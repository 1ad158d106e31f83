"""Celery tasks: thin wrappers that take ids and call services."""

from celery import shared_task
from django.conf import settings

from .pipeline import courier_run_execute
from .services.runs import EXECUTE_RUN_TASK, outbox_dispatch, runs_watchdog


@shared_task(name=EXECUTE_RUN_TASK, bind=True, max_retries=None, acks_late=True)
def execute_run(self, run_id: int) -> None:
    if courier_run_execute(run_id) == "wait":
        raise self.retry(countdown=settings.SOURCES_WAIT_RETRY_SECONDS)


@shared_task(name="couriers.dispatch", ignore_result=True)
def dispatch() -> None:
    """Beat, every few seconds: send runs the task queue missed (the run outbox)."""
    outbox_dispatch()


@shared_task(name="couriers.watchdog", ignore_result=True)
def watchdog() -> None:
    runs_watchdog()
