"""Courier runs under faults, against the real services: a worker process killed mid-load, an
S3 endpoint that fails a share of its requests, permanent S3 errors, and runs that race.
Every surviving run is checked against the generator's ground truth."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from datetime import date, timedelta

import pytest
from botocore.exceptions import ClientError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from couriers import feed_load, resuming
from couriers.models import Courier, CourierRun, RunEvent
from couriers.services.runs import (
    LOST_WORKER,
    CourierBusy,
    RunLost,
    courier_run_start,
    courier_run_stop,
    run_claim,
    run_event,
    run_finish,
    run_heartbeat,
    runs_watchdog,
)
from couriers.tasks import execute_run
from credentials.errors import describe_s3_error
from demo import dated_key, expected_tables, make_s3_client, write_dated_export
from tests.conftest import spawn_worker, wait_until
from tests.factories import (
    USERS_FIELDS,
    domain_rows,
    make_feed,
    run_finished,
    run_here,
    users_courier,
)
from tests.s3_faults import FaultProxy

pytestmark = pytest.mark.django_db(transaction=True)
DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(6)]
END = DAYS[-1] + timedelta(days=1)


@pytest.fixture(scope="module")
def six_days(s3):
    """Six dated users files (about 3,000 rows in all), written once for this module."""
    name = f"faults-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    summary = write_dated_export(s3, name, DAYS, rows=3000, seed=11, tables=("users",))
    return name, summary, expected_tables(summary.spec, ["users"])["users"]


def users_feed(tag: str):
    """A feed with a table of its own (domain tables outlive each test's database flush)."""
    return make_feed(
        "Heap",
        f"Users {tag} {uuid.uuid4().hex[:6]}",
        USERS_FIELDS,
        ["user_id"],
        last_updated="last_modified",
    )


def assert_ground_truth(feed, expected: dict) -> None:
    rows = domain_rows(feed)
    assert len(rows) == len(expected)
    by_id = {r["user_id"]: r for r in rows}
    for user_id, row in expected.items():
        assert by_id[user_id]["email"] == row["email"]
        assert by_id[user_id]["last_modified"] == row["last_modified"]


# ------------------------------------------------------------------ a worker killed mid-load
def start_own_worker(tmp_path, queue: str) -> subprocess.Popen:
    """A worker of our own (one process: -P solo) on its own queue, so we can SIGKILL it
    without touching the session's shared worker."""
    return spawn_worker(
        tmp_path / "killed-worker.log",
        "-P", "solo", "-Q", queue, "-n", f"doomed-{uuid.uuid4().hex[:6]}@%h",
        new_session=True,
    )  # fmt: skip


@pytest.mark.worker
def test_worker_killed_mid_load_leaves_the_table_as_before_then_the_run_is_retried(
    celery_worker, six_days, s3_endpoint, tmp_path
):
    bucket, _, expected = six_days
    feed = users_feed(bucket)
    with FaultProxy(s3_endpoint) as proxy:
        courier = users_courier(bucket, proxy.url, feed)
        first = run_here(courier, start_date=DAYS[0])  # the table holds day 1 before
        assert first.status == CourierRun.Status.SUCCEEDED, first.error
        before = domain_rows(feed)
        assert before

        proxy.delay = 0.5  # a slow endpoint: five files take a few seconds to load
        queue = f"doomed-{uuid.uuid4().hex[:6]}"
        worker = start_own_worker(tmp_path, queue)
        try:
            run = courier_run_start(
                courier=courier, mode="period", start_date=DAYS[0], end_date=END, queue=False
            )
            execute_run.apply_async((run.pk,), queue=queue)

            def mid_load():
                run.refresh_from_db()
                return run.status == CourierRun.Status.RUNNING and run.rows_done > 0

            wait_until(mid_load, timeout=30, interval=0.05, message="the load never started")
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)

        assert domain_rows(feed) == before  # nothing of the unfinished load is visible
        run.refresh_from_db()
        assert run.status == CourierRun.Status.RUNNING  # until the watchdog notices

        proxy.calm()
        assert runs_watchdog(now=timezone.now() + timedelta(hours=1)) == [run.pk]
        wait_until(lambda: run_finished(run), timeout=60, message="the retried run did not finish")
        assert run.status == CourierRun.Status.SUCCEEDED, run.error
        assert run.attempts == 2
        log = [e.message for e in run.events.all()]
        assert any(m.startswith(LOST_WORKER) and "attempt 2 of 3" in m for m in log)
        assert "Courier run started (attempt 2)" in log
        assert_ground_truth(feed, expected)


def stale_running_run(courier: Courier, *, deaths: int = 0) -> CourierRun:
    run = courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
    run = run_claim(run.pk)
    for _ in range(deaths):
        run_event(run, f"{LOST_WORKER}; retrying", RunEvent.Level.WARNING)
    return run


def test_a_run_whose_worker_keeps_dying_is_failed_with_the_reason(six_days, s3_endpoint):
    bucket, _, _ = six_days
    courier = users_courier(bucket, s3_endpoint)
    run = stale_running_run(courier, deaths=2)  # it died twice already; this is the third

    assert runs_watchdog(now=timezone.now()) == []  # a fresh heartbeat is left alone
    assert runs_watchdog(now=timezone.now() + timedelta(minutes=10)) == [run.pk]
    run.refresh_from_db()
    assert run.status == CourierRun.Status.FAILED
    assert run.error.startswith("The worker running this courier stopped 3 times without")
    assert "No domain table was changed" in run.error


def test_stale_run_being_stopped_ends_stopped(six_days, s3_endpoint):
    bucket, _, _ = six_days
    run = stale_running_run(users_courier(bucket, s3_endpoint))
    assert courier_run_stop(run=run)
    runs_watchdog(now=timezone.now() + timedelta(minutes=10))
    run.refresh_from_db()
    assert run.status == CourierRun.Status.STOPPED
    assert run.error == "The worker stopped before finishing; no load was in progress."


def test_stale_after_is_a_setting(six_days, s3_endpoint, settings):
    bucket, _, _ = six_days
    run = stale_running_run(users_courier(bucket, s3_endpoint), deaths=2)
    settings.SOURCES_RUN_STALE_SECONDS = 3600
    assert runs_watchdog(now=timezone.now() + timedelta(minutes=10)) == []
    settings.SOURCES_RUN_STALE_SECONDS = 60
    assert runs_watchdog(now=timezone.now() + timedelta(minutes=10)) == [run.pk]


@pytest.mark.worker
def test_a_slow_worker_whose_run_was_taken_over_stops_quietly(celery_worker, six_days, s3_endpoint):
    bucket, _, _ = six_days
    feed = users_feed(bucket)
    courier = users_courier(bucket, s3_endpoint, feed)
    slow = stale_running_run(courier)  # this process "is" the worker that went quiet

    runs_watchdog(now=timezone.now() + timedelta(minutes=10))  # → the shared worker
    wait_until(lambda: run_finished(CourierRun.objects.get(pk=slow.pk)), timeout=60)
    with pytest.raises(RunLost):
        run_heartbeat(slow, rows_done=5)
    run_finish(slow, CourierRun.Status.FAILED, "the slow worker's late verdict")
    slow.refresh_from_db()
    assert slow.status == CourierRun.Status.SUCCEEDED  # the late verdict changed nothing
    assert slow.attempts == 2 and domain_rows(feed)


# ------------------------------------------------------------------ S3 errors
@pytest.mark.worker
def test_transient_s3_errors_are_retried_and_the_counts_are_right(
    celery_worker, six_days, s3_endpoint
):
    bucket, summary, expected = six_days
    feed = users_feed(bucket)
    # 30 % 500/503/SlowDown, 10 % resets before answering, and a quarter of the object
    # GETs cut half-way through the body.
    with FaultProxy(s3_endpoint, error_rate=0.3, reset_rate=0.1, cut_rate=0.25, seed=3) as proxy:
        courier = users_courier(bucket, proxy.url, feed)
        run = courier_run_start(courier=courier, mode="period", start_date=DAYS[0], end_date=END)
        wait_until(lambda: run_finished(run), timeout=90, message="the run did not finish")
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert proxy.stats["error"] and proxy.stats["reset"] and proxy.stats["cut"], proxy.stats
    load = run.loads.get()
    assert load.rows_read == summary.rows_per_table["users"]
    assert load.inserted == len(expected)
    assert_ground_truth(feed, expected)


def test_a_body_that_keeps_breaking_fails_cleanly_and_loads_nothing(
    six_days, s3_endpoint, monkeypatch
):
    bucket, _, _ = six_days
    monkeypatch.setattr(resuming, "RESUME_PAUSE", 0.01)  # the same path, without the waits
    monkeypatch.setattr(feed_load, "LOAD_RETRY_SECONDS", 0.01)
    feed = users_feed(bucket)
    with FaultProxy(s3_endpoint, cut_rate=1.0) as proxy:  # every object GET is cut short
        run = run_here(users_courier(bucket, proxy.url, feed), start_date=DAYS[0])
    assert run.status == CourierRun.Status.FAILED
    assert run.error == (
        f"{feed.table_name}: The connection to the storage endpoint broke off. "
        "This is usually temporary; try again. Nothing was written to the table."
    )
    log = [e.message for e in run.events.all()]
    assert any("trying again (attempt 3 of 3)" in m for m in log)
    assert domain_rows(feed) == []


def test_no_such_bucket_fails_fast_with_the_named_problem(s3, s3_endpoint):
    missing = f"no-such-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as error:
        s3.list_objects_v2(Bucket=missing)
    expected = str(describe_s3_error(error.value, bucket=missing))
    started = time.monotonic()
    run = run_here(users_courier(missing, s3_endpoint), start_date=DAYS[0])
    assert time.monotonic() - started < 5
    assert run.status == CourierRun.Status.FAILED
    assert run.error == expected
    assert "bucket" in run.error.lower() and run.attempts == 1


def test_access_denied_fails_fast_with_the_named_problem(six_days, s3_endpoint):
    bucket, _, _ = six_days
    with FaultProxy(s3_endpoint, forbid=True) as proxy:
        client = make_s3_client(proxy.url, "AKIDEXAMPLE", "test-secret")
        with pytest.raises(ClientError) as error:
            client.list_objects_v2(Bucket=bucket)
        expected = describe_s3_error(error.value, bucket=bucket)
        started = time.monotonic()
        run = run_here(users_courier(bucket, proxy.url), start_date=DAYS[0])
        assert time.monotonic() - started < 5
        assert proxy.stats["forbid"] <= 3  # not retried
    assert expected.code == "access_denied"
    assert run.status == CourierRun.Status.FAILED
    assert run.error == str(expected) and expected.suggestion in run.error


def test_a_corrupt_file_fails_fast_naming_the_file_and_loads_nothing(s3, bucket, s3_endpoint):
    write_dated_export(s3, bucket, DAYS[:1], rows=200, seed=5, tables=("users",))
    feed = users_feed(bucket)
    courier = users_courier(bucket, s3_endpoint, feed)
    assert run_here(courier, start_date=DAYS[0]).status == CourierRun.Status.SUCCEEDED
    before = domain_rows(feed)
    key = dated_key("path/to/", "users", DAYS[1])
    s3.put_object(Bucket=bucket, Key=key, Body=b"Obj\x01" + os.urandom(2000))

    run = run_here(courier, start_date=DAYS[1])
    assert run.status == CourierRun.Status.FAILED
    assert run.error.startswith(f"{feed.table_name}: {key}")
    assert "Avro" in run.error and run.error.endswith("Nothing was written to the table.")
    assert domain_rows(feed) == before


# ------------------------------------------------------------------ runs that race
@pytest.mark.worker
def test_two_runs_of_one_courier_started_together(celery_worker, six_days, s3_endpoint):
    bucket, _, expected = six_days
    feed = users_feed(bucket)
    courier = users_courier(bucket, s3_endpoint, feed)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def start() -> None:
        try:
            barrier.wait()
            outcomes.append(
                courier_run_start(courier=courier, mode="period", start_date=DAYS[0], end_date=END)
            )
        except CourierBusy as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [o for o in outcomes if isinstance(o, CourierRun)]
    refused = [o for o in outcomes if isinstance(o, CourierBusy)]
    assert len(runs) == 1 and len(refused) == 1
    assert str(refused[0]).startswith(f'Courier "{courier.name}" is already running (run ')

    run = wait_until(lambda: run_finished(runs[0]), timeout=60)
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert_ground_truth(feed, expected)


@pytest.mark.worker
def test_two_couriers_loading_one_feed_at_once_do_not_corrupt_it(
    celery_worker, six_days, s3_endpoint
):
    bucket, _, expected = six_days
    feed = users_feed(bucket)
    couriers = [users_courier(bucket, s3_endpoint, feed) for _ in range(2)]
    runs = [
        courier_run_start(courier=c, mode="period", start_date=DAYS[0], end_date=END)
        for c in couriers
    ]
    for run in runs:
        wait_until(lambda run=run: run_finished(run), timeout=60)
        assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert_ground_truth(feed, expected)


def test_the_run_dialog_refuses_a_second_run_with_the_reason(six_days, s3_endpoint, analyst_client):
    bucket, _, _ = six_days
    courier = users_courier(bucket, s3_endpoint)
    active = courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
    response = analyst_client.post(
        reverse("couriers:run", args=[courier.pk]), {"mode": "day", "day": "2024-03-01"}
    )
    assert response.status_code == 409
    assert f"is already running (run {active.pk}, started" in response.content.decode()
    assert CourierRun.objects.filter(courier=courier).count() == 1
