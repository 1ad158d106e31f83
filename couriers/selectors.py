from django.db.models import OuterRef, Subquery

from .models import Courier, CourierRun


def couriers_for_sources_page():
    latest = CourierRun.objects.filter(courier=OuterRef("pk")).order_by("-created_at", "-id")
    return Courier.objects.select_related("credential").annotate(
        last_run_id=Subquery(latest.values("pk")[:1]),
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_at=Subquery(latest.values("created_at")[:1]),
    )
