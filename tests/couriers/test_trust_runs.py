"""Runs a user can trust: a re-run never empties a table, a backfill never overwrites newer rows,
a file never blanks the columns it lacks, and "nothing to load" is said, not hidden."""

from datetime import date

import pytest

from couriers.models import Courier, CourierRun
from couriers.services.runs import courier_run_start
from demo import dated_key, write_dated_export
from feeds.models import Feed, FeedField
from notifications.models import Notification
from tests.conftest import wait_until
from tests.factories import (
    USERS_FIELDS,
    domain_rows,
    make_credential,
    make_feed,
    run_finished,
    run_here,
    users_courier,
)

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2024, 3, 1)
CSV_FIELDS = [("user_id", "integer"), ("name", "string"), ("email", "string"), ("city", "string")]
CSV_PATTERN = "'crm/users-'yyyy'-'MM'-'dd'.csv'"


def notification(run):
    return Notification.objects.filter(subject=f"courier-run:{run.pk}").first()


def truncating(feed):
    return {feed.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}]}


def upserting(feed):
    return {feed.pk: [{"type": "load", "file": "users"}]}


def put_csv(s3, bucket, day, text):
    key = f"crm/users-{day:%Y-%m-%d}.csv"
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode())
    return key


def csv_courier(bucket, endpoint, load_operations):
    entity = {
        "object/type": "file",
        "object/file-pattern": CSV_PATTERN,
        "object/land-as": {"file/tag": "users", "file/content-type": "text/csv",
                           "file/header-rows": 1},
    }  # fmt: skip
    return Courier.objects.create(
        name=f"CRM {bucket}",
        credential=make_credential(endpoint),
        bucket=bucket,
        entities=[entity],
        load_operations=load_operations,
    )


def csv_feed(bucket):
    return make_feed("CRM", f"Users {bucket}", CSV_FIELDS, ["user_id"])  # generated _updated


def by_id(feed, *columns):
    return {r["user_id"]: tuple(r[c] for c in columns) for r in domain_rows(feed)}


# ------------------------------------------------------------------ 1. re-runs
def test_rerunning_a_loaded_day_reloads_it_and_leaves_the_table_as_the_first_run_did(
    celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, [DAY], rows=300, seed=5, tables=("users",))
    feed = make_feed("Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"])
    courier = users_courier(bucket, s3_endpoint, load_operations=truncating(feed))

    first = courier_run_start(courier=courier, start_date=DAY, started_by="test")
    wait_until(lambda: run_finished(first), message="first run did not finish")
    assert first.status == CourierRun.Status.SUCCEEDED, first.error
    after_first = by_id(feed, "email", "plan")
    assert after_first

    again = courier_run_start(courier=courier, start_date=DAY, started_by="test")
    wait_until(lambda: run_finished(again), message="second run did not finish")
    assert again.status == CourierRun.Status.SUCCEEDED, again.error
    assert by_id(feed, "email", "plan") == after_first
    load = again.loads.get()
    assert load.truncate and load.status == "succeeded"
    assert load.files == [dated_key("path/to/", "users", DAY)]


def test_a_truncating_feed_with_nothing_to_load_keeps_its_table_and_warns(
    celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, [DAY], rows=300, seed=5, tables=("users",))
    feed = make_feed("Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"])
    courier = users_courier(bucket, s3_endpoint, load_operations=truncating(feed))
    assert run_here(courier, start_date=DAY).status == CourierRun.Status.SUCCEEDED
    rows = len(domain_rows(feed))

    empty_day = date(2024, 4, 1)
    run = courier_run_start(courier=courier, start_date=empty_day, skip_missing=True)
    wait_until(lambda: run_finished(run), message="run did not finish")
    assert len(domain_rows(feed)) == rows
    assert run.status == CourierRun.Status.SUCCEEDED
    kept = f"{feed.table_name}: nothing to load for 2024-04-01; the table was kept ({rows:,} rows)"
    assert kept in run.error.splitlines()
    assert 'Skipped missing file: no object matches "path/to/users-2024-04-01.avro"' in run.error
    note = wait_until(lambda: notification(run) if notification(run).level != "running" else None)
    assert note.level == Notification.Level.WARNING and kept in note.message
    assert run.loads.get().status == "skipped"


def test_skip_missing_files_with_nothing_found_is_a_warning_not_a_success(s3, bucket, s3_endpoint):
    courier = users_courier(bucket, s3_endpoint, load_operations={})
    run = run_here(courier, start_date=DAY, skip_missing=True)
    assert run.status == CourierRun.Status.SUCCEEDED
    assert run.error.startswith(
        'Skipped missing file: no object matches "path/to/users-2024-03-01.avro" for 2024-03-01'
    )
    assert notification(run).level == Notification.Level.WARNING


def test_a_group_window_over_loaded_days_reloads_them_for_a_truncating_feed(
    s3, bucket, s3_endpoint
):
    days = [date(2024, 3, 1), date(2024, 3, 2)]
    write_dated_export(s3, bucket, days, rows=200, seed=6, tables=("users",))
    feed = make_feed("Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"])
    courier = users_courier(bucket, s3_endpoint, load_operations=truncating(feed))
    window = dict(mode="period", start_date=days[0], end_date=date(2024, 3, 3), any_day=True)
    assert run_here(courier, **window).status == CourierRun.Status.SUCCEEDED
    after_first = by_id(feed, "email", "plan")
    again = run_here(courier, **window)  # the next tick: the same two days, already loaded
    assert again.status == CourierRun.Status.SUCCEEDED and again.error == ""
    assert by_id(feed, "email", "plan") == after_first
    assert len(again.loads.get().files) == 2


def test_an_upsert_feed_skips_files_already_loaded_and_says_how_to_reload(s3, bucket, s3_endpoint):
    write_dated_export(s3, bucket, [DAY], rows=200, seed=6, tables=("users",))
    feed = make_feed("Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"])
    courier = users_courier(bucket, s3_endpoint, load_operations=upserting(feed))
    run_here(courier, start_date=DAY)
    rows = domain_rows(feed)
    again = run_here(courier, start_date=DAY)
    assert again.status == CourierRun.Status.SUCCEEDED
    assert domain_rows(feed) == rows  # not even the generated updated field moved
    key = dated_key("path/to/", "users", DAY)
    assert again.error == (
        f"{feed.table_name}: nothing new to load for 2024-03-01: 1 file was loaded before "
        f"({key}); the table was kept ({len(rows):,} rows). Run with “Reload files already "
        "loaded” to load it again."
    )
    assert notification(again).level == Notification.Level.WARNING
    reloaded = run_here(courier, start_date=DAY, reload=True)
    assert reloaded.error == "" and reloaded.loads.get().files == [key]


# ------------------------------------------------------------------ 3. backfill
def test_backfilling_older_days_keeps_the_newer_rows(s3, bucket, s3_endpoint):
    for d in (1, 2, 3):
        ids = {1: "1,2,3", 2: "1,2", 3: "1"}[d]
        lines = [f"{i},name{i}-day{d},u{i}@day{d}.io,City{d}" for i in ids.split(",")]
        put_csv(s3, bucket, date(2024, 1, d), "user_id,name,email,city\n" + "\n".join(lines))
    feed = csv_feed(bucket)
    courier = csv_courier(bucket, s3_endpoint, upserting(feed))
    for d in (3, 2, 1):
        run = run_here(courier, start_date=date(2024, 1, d))
        assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert by_id(feed, "name", "email") == {
        1: ("name1-day3", "u1@day3.io"),
        2: ("name2-day2", "u2@day2.io"),
        3: ("name3-day1", "u3@day1.io"),
    }
    # The run says what it kept out, so "0 updated" is not a mystery.
    last = run.loads.get()
    assert (last.inserted, last.updated) == (1, 0)
    assert run.events.filter(
        message__contains="2 rows kept: the table holds them from newer files"
    ).exists()


# ------------------------------------------------------------------ 4. absent columns
def test_a_file_lacking_columns_keeps_their_stored_values_and_says_so(s3, bucket, s3_endpoint):
    put_csv(
        s3,
        bucket,
        date(2024, 3, 1),
        "user_id,name,email,city\n1,Ann,ann@x.io,Oslo\n2,Bo,bo@x.io,Rome\n",
    )
    put_csv(s3, bucket, date(2024, 3, 2), "user_id,name\n1,Anna\n3,Cy\n")  # fmt: skip
    feed = csv_feed(bucket)
    courier = csv_courier(bucket, s3_endpoint, upserting(feed))
    run_here(courier, start_date=date(2024, 3, 1))
    run = run_here(courier, start_date=date(2024, 3, 2))
    assert run.status == CourierRun.Status.SUCCEEDED
    assert by_id(feed, "name", "email", "city") == {
        1: ("Anna", "ann@x.io", "Oslo"),
        2: ("Bo", "bo@x.io", "Rome"),
        3: ("Cy", None, None),
    }
    said = (
        f"{feed.table_name}: crm/users-2024-03-02.csv lacks email, city: kept their stored values"
    )
    assert said in run.error.splitlines()
    assert notification(run).level == Notification.Level.WARNING


def test_a_file_lacking_a_required_column_fails_the_run_and_changes_nothing(
    s3, bucket, s3_endpoint
):
    put_csv(s3, bucket, date(2024, 3, 1), "user_id,name,email,city\n1,Ann,ann@x.io,Oslo\n")
    put_csv(s3, bucket, date(2024, 3, 2), "user_id,name,city\n1,Anna,Bergen\n")
    feed = csv_feed(bucket)
    FeedField.objects.filter(feed=feed, name="email").update(required=True)
    courier = csv_courier(bucket, s3_endpoint, truncating(feed))
    run_here(courier, start_date=date(2024, 3, 1))
    before = domain_rows(feed)
    run = run_here(courier, start_date=date(2024, 3, 2))
    assert run.status == CourierRun.Status.FAILED
    assert run.error == (
        f"{feed.table_name}: crm/users-2024-03-02.csv: required column email is missing; the "
        "file was not loaded. Nothing was written to the table."
    )
    assert domain_rows(feed) == before


def test_a_nul_byte_rejects_its_row_and_the_reject_shows_it(s3, bucket, s3_endpoint):
    """Postgres text cannot hold NUL: the row is rejected, and the run's reject list (text too)
    shows the value with the NUL written as \\x00 instead of crashing the run."""
    put_csv(s3, bucket, DAY, "user_id,name,email,city\n1,Ann,a@x.io,Oslo\n2,B\x00b,b@x.io,Rome\n")
    feed = csv_feed(bucket)
    Feed.objects.filter(pk=feed.pk).update(error_threshold=100.0)
    run = run_here(csv_courier(bucket, s3_endpoint, upserting(feed)), start_date=DAY)
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert by_id(feed, "name") == {1: ("Ann",)}
    reject = run.rejects.get()
    assert (reject.row, reject.field, reject.value) == (2, "name", "B\\x00b")
    assert "NUL" in reject.reason


def test_files_lacking_the_same_columns_are_reported_in_one_line(s3, bucket, s3_endpoint):
    feed = csv_feed(bucket)
    courier = csv_courier(bucket, s3_endpoint, upserting(feed))
    days = [date(2024, 3, d) for d in (1, 2, 3)]
    for day in days:
        put_csv(s3, bucket, day, f"user_id,name\n{day.day},N{day.day}\n")
    run = run_here(courier, mode="period", start_date=days[0], end_date=date(2024, 3, 4))
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert run.error == (
        f"{feed.table_name}: 3 files (crm/users-2024-03-01.csv, …) lack email, city: "
        "kept their stored values"
    )
