"""The demo's Heap courier: every table of the demo export, feeds created and activated."""

from __future__ import annotations

from couriers.heap.discovery import heap_discover
from couriers.heap.setup import heap_courier_create, heap_feeds_activate
from couriers.models import Courier
from credentials.models import Credential
from credentials.services import s3_client

DEMO_COURIER = "Heap Connect"


def heap_demo_setup(*, credential: Credential, bucket: str, prefix: str = "") -> Courier:
    """Create (once) the Heap courier for ``bucket`` with active feeds; returns it."""
    existing = Courier.objects.filter(name=DEMO_COURIER).first()
    if existing is not None:
        return existing
    discovery = heap_discover(s3_client(credential), bucket, prefix)
    courier = heap_courier_create(
        name=DEMO_COURIER,
        credential=credential,
        bucket=bucket,
        prefix=prefix,
        tables=discovery.tables,
    )
    failed = heap_feeds_activate(courier=courier)
    if failed:
        raise RuntimeError("; ".join(f"{feed}: {problem}" for feed, problem in failed))
    return courier
