"""The legacy path: a plain S3 courier whose wildcard pattern picks Heap's sync_ files."""

import pytest

from couriers.models import Courier, CourierRun, LandedFile
from couriers.pipeline import courier_run_execute
from couriers.services.runs import courier_run_start
from demo import expected_tables
from tests.factories import USERS_FIELDS, domain_rows, make_feed

pytestmark = pytest.mark.django_db(transaction=True)


def test_plain_s3_courier_with_a_sync_wildcard_pattern_loads_heap_users(
    heap_export, heap_credential
):
    feed = make_feed(
        "Legacy Heap", "Users", USERS_FIELDS, ["user_id"], last_updated="last_modified"
    )
    courier = Courier.objects.create(
        name="Heap legacy",
        credential=heap_credential,
        bucket=heap_export.bucket,
        entities=[
            {
                "object/type": "file",
                "object/file-pattern": "'sync_'*'/users/'*'.avro'",
                "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
            }
        ],
        load_operations={feed.pk: [{"type": "load", "file": "users"}]},
    )
    run = courier_run_start(courier=courier, mode="all", queue=False)
    courier_run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    users_files = [k for k in heap_export.files if "/users/" in k]
    assert sorted(
        LandedFile.objects.filter(courier=courier).values_list("key", flat=True)
    ) == sorted(users_files)
    expected = expected_tables(heap_export.spec, ["users"])["users"]
    rows = {r["user_id"]: r for r in domain_rows(feed)}
    assert set(rows) == set(expected)
    for user_id, row in expected.items():
        assert (rows[user_id]["email"], rows[user_id]["last_modified"]) == (
            row["email"],
            row["last_modified"],
        )
