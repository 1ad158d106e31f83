"""Heap runs end to end: a real worker loads the demo export's dumps in dump order."""

from datetime import datetime

import pytest

from couriers.heap.columns import heap_columns_add, heap_pending_columns
from couriers.models import CourierRun, HeapDump, LandedFile
from couriers.services.runs import courier_run_start
from demo import NEW_USER_PROPERTY, expected_tables
from notifications.models import Notification
from tests.conftest import wait_until
from tests.factories import domain_rows, run_here

pytestmark = pytest.mark.django_db(transaction=True)


def run_to_end(courier):
    run = courier_run_start(courier=courier, mode="all", started_by="test")

    def finished():
        run.refresh_from_db()
        return run.status in {"succeeded", "failed", "stopped"}

    wait_until(finished, timeout=120, message="run did not finish")
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    return run


def assert_tables_equal_ground_truth(feeds, spec):
    for table, expected in expected_tables(spec).items():
        feed = feeds[table]
        key = feed.primary_key[0]
        loaded = {r[key]: r for r in domain_rows(feed)}
        assert set(loaded) == set(expected), f"{table}: keys differ"
        names = [f.name for f in feed.fields.all()]
        for pk, row in expected.items():
            want = {n: row.get(n) for n in names}
            if table == "checkout_completed":  # an ISO string in the file, a datetime here
                want["time"] = datetime.fromisoformat(row["time"].replace("Z", "+00:00"))
            assert {n: loaded[pk][n] for n in names} == want, f"{table} {pk}"


def dumps_loaded(courier):
    return sorted(HeapDump.objects.filter(courier=courier).values_list("dump_id", flat=True))


def test_first_run_loads_every_dump_in_order_and_a_second_run_loads_nothing(
    celery_worker, heap_courier, heap_export, feeds
):
    spec = heap_export.spec
    run = run_to_end(heap_courier)
    assert_tables_equal_ground_truth(feeds, spec)
    assert dumps_loaded(heap_courier) == spec.dump_ids
    # Every part file is landed (sample-able), tagged with its table.
    assert LandedFile.objects.filter(courier=heap_courier).count() == len(heap_export.files)
    assert set(LandedFile.objects.values_list("tag", flat=True)) == set(spec.tables)
    # One atomic load per table: sessions starts at its resync (dump 852), migrations take
    # only the last full sync, users replace from the first full dump then upsert.
    loads = {ld.feed_id: ld for ld in run.loads.all()}
    sessions = loads[feeds["sessions"].pk]
    assert sessions.truncate
    assert {k.split("/")[0] for k in sessions.files} == {"sync_852", "sync_853"}
    migrations = loads[feeds["user_migrations"].pk]
    assert migrations.truncate and {k.split("/")[0] for k in migrations.files} == {"sync_853"}
    users = loads[feeds["users"].pk]
    assert users.files == [k for k in heap_export.files if "/users/" in k]  # dump, part order

    # The new user property is reported (status line and notification), not dropped silently.
    warning = (
        f"Heap:Users: new column {NEW_USER_PROPERTY} in dump {spec.dump_ids[-1]} — add it in "
        "the Feed Editor"
    )
    assert warning in run.error
    assert run.events.filter(level="warning", message__startswith=warning).exists()
    note = Notification.objects.get(subject=f"courier-run:{run.pk}")
    assert note.level == Notification.Level.WARNING and warning in note.message

    again = run_to_end(heap_courier)
    assert again.events.filter(
        message=f"No new Heap dumps since dump {spec.dump_ids[-1]}: nothing to load"
    ).exists()
    assert not again.loads.exists()
    assert_tables_equal_ground_truth(feeds, spec)


def test_dumps_arriving_between_runs_upsert_or_replace_as_their_manifest_says(
    celery_worker, s3, heap_courier, heap_export, feeds
):
    spec = heap_export.spec
    later = heap_export.manifests[2:]  # 852 (sessions resync) and 853 arrive later
    bodies = {k: s3.get_object(Bucket=heap_export.bucket, Key=k)["Body"].read() for k in later}
    for key in later:
        s3.delete_object(Bucket=heap_export.bucket, Key=key)
    first = run_to_end(heap_courier)
    assert dumps_loaded(heap_courier) == spec.dump_ids[:2]
    assert {ld.feed_id: ld.truncate for ld in first.loads.all()}[feeds["sessions"].pk]

    for key, body in bodies.items():
        s3.put_object(Bucket=heap_export.bucket, Key=key, Body=body)
    second = run_to_end(heap_courier)
    truncated = {ld.feed_id: ld.truncate for ld in second.loads.all()}
    assert truncated[feeds["sessions"].pk] is True  # incremental: false in dump 852
    assert truncated[feeds["users"].pk] is False  # incremental: true
    assert truncated[feeds["pageviews"].pk] is False
    assert truncated[feeds["user_migrations"].pk] is True  # always a full sync
    assert dumps_loaded(heap_courier) == spec.dump_ids
    assert_tables_equal_ground_truth(feeds, spec)


def test_new_columns_are_added_to_the_feed_and_filled_by_reloading(
    celery_worker, heap_courier, heap_export, feeds
):
    spec = heap_export.spec
    run_to_end(heap_courier)
    assert heap_pending_columns(heap_courier) == {"users": [(NEW_USER_PROPERTY, spec.dump_ids[-1])]}
    heap_columns_add(courier=heap_courier)
    assert heap_pending_columns(heap_courier) == {}
    run = run_to_end(heap_courier)
    assert not run.error  # nothing left to report
    assert dumps_loaded(heap_courier) == spec.dump_ids
    assert_tables_equal_ground_truth(feeds, spec)  # now with initial_utm_source
    assert any(r[NEW_USER_PROPERTY] for r in domain_rows(feeds["users"]))


def test_a_new_manifest_reusing_a_loaded_dump_id_is_refused_naming_both(
    s3, heap_courier, heap_export, feeds
):
    """Not skipped as "already loaded": the new manifest may list other files, so say so."""
    assert run_here(heap_courier, mode="all").status == CourierRun.Status.SUCCEEDED
    loaded = heap_export.manifests[0]
    again = loaded.replace(".json", "-again.json")
    body = s3.get_object(Bucket=heap_export.bucket, Key=loaded)["Body"].read()
    s3.put_object(Bucket=heap_export.bucket, Key=again, Body=body)
    users = domain_rows(feeds["users"])
    run = run_here(heap_courier, mode="all")
    assert run.status == CourierRun.Status.FAILED
    dump = heap_export.spec.dump_ids[0]
    assert run.error.startswith(
        f"Cannot read a Heap manifest: {again} describes dump {dump}, which was loaded from "
        f"{loaded}"
    )
    assert dumps_loaded(heap_courier) == heap_export.spec.dump_ids
    assert domain_rows(feeds["users"]) == users
