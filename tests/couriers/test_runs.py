"""Courier runs end to end: a real worker pulls Avro from S3 over HTTP into Postgres."""

from datetime import date

import pytest

from couriers.models import CourierRun, LandedFile
from couriers.services.runs import CourierBusy, courier_run_start
from demo import expected_tables, write_dated_export
from notifications.models import Notification
from tests.conftest import wait_until
from tests.factories import USERS_FIELDS, domain_rows, make_feed, run_finished, users_courier

pytestmark = pytest.mark.django_db(transaction=True)
DAYS = [date(2024, 3, 1), date(2024, 3, 2)]


@pytest.fixture
def dated_bucket(s3, bucket):
    summary = write_dated_export(s3, bucket, DAYS, rows=600, seed=7, tables=("users",))
    return bucket, summary


def notification_at(run, level):
    return Notification.objects.filter(subject=f"courier-run:{run.pk}", level=level).first()


def test_placeholder_feed_id_lands_files_then_fails_like_the_seed(
    celery_worker, dated_bucket, s3_endpoint
):
    bucket, _ = dated_bucket
    courier = users_courier(
        bucket, s3_endpoint, load_operations={"df-xxxxxx": [{"type": "load", "file": "users"}]}
    )
    run = courier_run_start(courier=courier, start_date=DAYS[0], started_by="test")
    wait_until(lambda: run_finished(run), message="run did not finish")
    assert run.status == CourierRun.Status.FAILED
    assert (
        run.error == 'Error running load-operations task\nCannot find required feeds: "df-xxxxxx"'
    )
    landed = LandedFile.objects.get(courier=courier)
    assert landed.key == "path/to/users-2024-03-01.avro"
    assert landed.file_date == DAYS[0] and landed.size > 0 and landed.etag
    error = wait_until(lambda: notification_at(run, Notification.Level.ERROR))
    assert "df-xxxxxx" in error.message


def test_run_loads_two_days_into_the_domain_table_and_repeats_safely(
    celery_worker, dated_bucket, s3_endpoint
):
    bucket, summary = dated_bucket
    feed = make_feed(
        "Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"], last_updated="last_modified"
    )
    courier = users_courier(
        bucket, s3_endpoint, load_operations={feed.pk: [{"type": "load", "file": "users"}]}
    )

    run = courier_run_start(
        courier=courier, mode="period", start_date=DAYS[0], end_date=date(2024, 3, 3)
    )
    wait_until(lambda: run_finished(run), message="run did not finish")
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    expected = expected_tables(summary.spec, ["users"])["users"]
    rows = domain_rows(feed)
    assert len(rows) == len(expected)
    by_id = {r["user_id"]: r for r in rows}
    for user_id, row in expected.items():
        assert by_id[user_id]["email"] == row["email"]
        assert by_id[user_id]["last_modified"] == row["last_modified"]
    load = run.loads.get()
    assert load.rows_read == summary.rows_per_table["users"]
    assert load.inserted == len(expected)
    events = [e.message for e in run.events.all()]
    assert events[-1].startswith("Completed in ")
    completed = wait_until(lambda: notification_at(run, Notification.Level.COMPLETED))
    assert completed.message.startswith("Completed in ")

    again = courier_run_start(
        courier=courier, mode="period", start_date=DAYS[0], end_date=date(2024, 3, 3)
    )
    wait_until(lambda: run_finished(again), message="second run did not finish")
    assert again.status == CourierRun.Status.SUCCEEDED
    assert again.loads.get().status == "skipped"  # same keys and ETags: nothing new
    assert len(domain_rows(feed)) == len(expected)


def test_missing_required_file_fails_with_the_pattern_and_date(
    celery_worker, dated_bucket, s3_endpoint
):
    bucket, _ = dated_bucket
    courier = users_courier(bucket, s3_endpoint, load_operations={})
    run = courier_run_start(courier=courier, start_date=date(2024, 4, 1))
    wait_until(lambda: run_finished(run))
    assert run.status == CourierRun.Status.FAILED
    assert 'no object matches "path/to/users-2024-04-01.avro" for 2024-04-01' in run.error

    skipping = courier_run_start(courier=courier, start_date=date(2024, 4, 1), skip_missing=True)
    wait_until(lambda: run_finished(skipping))
    assert skipping.status == CourierRun.Status.SUCCEEDED


def test_one_active_run_per_courier(dated_bucket, s3_endpoint):
    bucket, _ = dated_bucket
    courier = users_courier(bucket, s3_endpoint, load_operations={})
    courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
    with pytest.raises(CourierBusy, match="already running"):
        courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
