from django.db.models import OuterRef, Subquery

from .models import Courier, CourierRun


def couriers_for_sources_page():
    latest = CourierRun.objects.filter(courier=OuterRef("pk")).order_by("-created_at", "-id")
    return Courier.objects.select_related("credential").annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_at=Subquery(latest.values("created_at")[:1]),
    )


def runs_waiting_for_task_queue() -> int:
    """Runs requested while the task queue was down, not sent to the workers yet."""
    from .models import RunDispatch

    return RunDispatch.objects.filter(dispatched_at__isnull=True).count()
