"""A Heap Connect export in a fresh bucket, and a Heap courier set up through the services."""

import pytest

from couriers.heap.discovery import heap_discover
from couriers.heap.setup import heap_courier_create, heap_feeds, heap_feeds_activate
from credentials.services import s3_client
from demo import HeapExportSpec, write_heap_export
from tests.factories import make_credential

SPEC = HeapExportSpec(rows=2400, seed=11, part_rows=250)


@pytest.fixture
def heap_export(s3, bucket):
    return write_heap_export(s3, bucket, SPEC)


@pytest.fixture
def heap_credential(s3_endpoint):
    return make_credential(s3_endpoint)


@pytest.fixture
def heap_courier(s3, heap_export, heap_credential):
    """Set up before the last dump (the one adding a user property) was complete."""
    last = heap_export.manifests[-1]
    body = s3.get_object(Bucket=heap_export.bucket, Key=last)["Body"].read()
    s3.delete_object(Bucket=heap_export.bucket, Key=last)
    discovery = heap_discover(s3_client(heap_credential), heap_export.bucket)
    s3.put_object(Bucket=heap_export.bucket, Key=last, Body=body)
    courier = heap_courier_create(
        name=f"Heap {heap_export.bucket}",
        credential=heap_credential,
        bucket=heap_export.bucket,
        prefix="",
        tables=discovery.tables,
    )
    assert heap_feeds_activate(courier=courier) == []
    return courier


@pytest.fixture
def feeds(heap_courier):
    return heap_feeds(heap_courier)
