"""Runs survive the infrastructure: a broker restarted mid-run or while idle, a run requested
while the broker is down (no 500, no lost run), and a dead attempt closed with what really
happened (the load ledger). Each broker test has a Redis and a worker of its own, so it can
stop and restart them without touching the session's."""

from __future__ import annotations

import contextlib
import subprocess
import time
import uuid
from datetime import date, timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from amperity_sources.celery import app as celery_app
from amperity_sources.db import domain_connection
from amperity_sources.embedded import EmbeddedRedis, free_port
from amperity_sources.tasks import retention_prune
from couriers.models import CourierRun, LoadLedger, RunDispatch, RunEvent, RunLoad, RunReject
from couriers.services import dispatch
from couriers.services.dispatch import (
    EXECUTE_RUN_TASK,
    QUEUE_BACK,
    QUEUE_DOWN,
    SEND_RETRY_POLICY,
    outbox_dispatch,
)
from couriers.services.ledger import (
    COMMITTED_BEFORE_DEATH,
    INTERRUPTED,
    load_ledger_committed,
    load_ledger_record,
    load_ledger_tables,
)
from couriers.services.runs import (
    LOST_WORKER,
    courier_run_start,
    courier_run_stop,
    run_claim,
    run_finish,
    runs_watchdog,
)
from demo import expected_tables, write_dated_export
from feeds.loader import LoadResult
from notifications.models import Notification
from tests.conftest import spawn_worker, wait_until
from tests.factories import USERS_FIELDS, domain_rows, make_feed, run_finished, users_courier
from tests.s3_faults import FaultProxy

pytestmark = pytest.mark.django_db(transaction=True)
DAYS = [date(2024, 5, 1) + timedelta(days=i) for i in range(4)]
END = DAYS[-1] + timedelta(days=1)


@pytest.fixture(scope="module")
def four_days(s3):
    name = f"recovery-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name)
    summary = write_dated_export(s3, name, DAYS, rows=2000, seed=17, tables=("users",))
    return name, expected_tables(summary.spec, ["users"])["users"]


def users_feed(tag: str = "recovery"):
    return make_feed("Heap", f"Users {tag} {uuid.uuid4().hex[:6]}", USERS_FIELDS, ["user_id"],
                     last_updated="last_modified")  # fmt: skip


def assert_ground_truth(feed, expected: dict) -> None:
    rows = domain_rows(feed)
    assert len(rows) == len(expected)
    by_id = {r["user_id"]: r for r in rows}
    for user_id, row in expected.items():
        assert by_id[user_id]["email"] == row["email"]


# ------------------------------------------------------------------ a broker of our own
@contextlib.contextmanager
def broker(url: str):
    """This process sends runs to ``url`` (the request's on_commit, the dispatcher): the same
    send_task, over a connection to our own broker."""

    def queue_run(run_id: int) -> None:
        with celery_app.connection_for_write(url) as conn:
            celery_app.send_task(EXECUTE_RUN_TASK, args=[run_id], connection=conn, retry=True,
                                 retry_policy=SEND_RETRY_POLICY)  # fmt: skip

    with mock.patch.object(dispatch, "queue_run", queue_run):
        yield


@pytest.fixture
def own_redis(tmp_path):
    redis = EmbeddedRedis(tmp_path, free_port())
    yield redis
    redis.stop()


def start_worker(tmp_path, redis_url: str) -> tuple[subprocess.Popen, object]:
    """A prefork worker as the launcher starts it (two processes), on our own broker."""
    log = tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log"
    process = spawn_worker(
        log, "--concurrency", "2", "-n", f"own-{uuid.uuid4().hex[:6]}@%h", REDIS_URL=redis_url
    )
    return process, log


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def restart(redis: EmbeddedRedis, outage: float = 3.0) -> None:
    redis.stop()
    time.sleep(outage)  # the outage itself (the 3-second restart)
    redis.start()


# ------------------------------------------------------------------ Redis restarts
@pytest.mark.worker
def test_redis_restarted_mid_run_and_while_idle_the_worker_rides_through(
    four_days, s3_endpoint, own_redis, tmp_path
):
    bucket, expected = four_days
    url = own_redis.start()
    worker, log = start_worker(tmp_path, url)
    try:
        feed = users_feed()
        with FaultProxy(s3_endpoint) as proxy, broker(url):
            proxy.delay = 1.0  # a slow endpoint: the load takes several seconds
            courier = users_courier(bucket, proxy.url, feed)
            run = courier_run_start(courier=courier, mode="period", start_date=DAYS[0],
                                    end_date=END)  # fmt: skip

            def mid_run():
                run.refresh_from_db()
                return run.status == CourierRun.Status.RUNNING and run.files_done > 0

            try:
                wait_until(mid_run, timeout=60, interval=0.1)
            except AssertionError:
                entry = RunDispatch.objects.filter(run=run).values().first()
                raise AssertionError(
                    f"the run never started: {run.status} {entry}\n{log.read_text()[-3000:]}"
                ) from None
            restart(own_redis)
            proxy.calm()
            wait_until(lambda: run_finished(run), timeout=120, message="the run did not finish")
            assert run.status == CourierRun.Status.SUCCEEDED, run.error
            assert_ground_truth(feed, expected)
            assert worker.poll() is None, log.read_text()[-3000:]

            restart(own_redis)  # while idle
            second = courier_run_start(courier=courier, start_date=DAYS[0], reload=True)
            wait_until(lambda: run_finished(second), timeout=120,
                       message="the worker took no run after Redis came back")  # fmt: skip
            assert second.status == CourierRun.Status.SUCCEEDED, second.error
        assert worker.poll() is None
        assert b"Unrecoverable error" not in log.read_bytes()
    finally:
        stop_worker(worker)


# ------------------------------------------------------------------ the outbox
def test_a_run_requested_while_the_task_queue_is_down_is_queued_then_starts(
    four_days, s3_endpoint, own_redis, analyst_client, tmp_path
):
    bucket, expected = four_days
    feed = users_feed()
    courier = users_courier(bucket, s3_endpoint, feed)
    url = f"redis://127.0.0.1:{own_redis.port}/0"  # nothing listens there yet
    with broker(url):
        response = analyst_client.post(
            reverse("couriers:run", args=[courier.pk]), {"mode": "day", "day": "2024-05-01"},
            follow=True,
        )  # fmt: skip
    assert response.status_code == 200
    assert QUEUE_DOWN in response.content.decode()
    run = CourierRun.objects.get(courier=courier)
    assert run.status == CourierRun.Status.QUEUED
    entry = RunDispatch.objects.get(run=run)
    assert entry.dispatched_at is None and entry.failures == 1 and entry.last_error
    assert [e.message for e in run.events.filter(level=RunEvent.Level.WARNING)] == [QUEUE_DOWN]

    # A second request is still refused with the reason (one active run per courier).
    again = analyst_client.post(
        reverse("couriers:run", args=[courier.pk]), {"mode": "day", "day": "2024-05-01"}
    )
    assert again.status_code == 409

    with broker(url):
        assert outbox_dispatch().unavailable  # still down: it stays in the outbox
        own_redis.start()
        worker, log = start_worker(tmp_path, url)
        try:
            assert outbox_dispatch().sent == [run.pk]  # what beat runs every few seconds
            wait_until(lambda: run_finished(run), timeout=90, message="the run never ran")
        finally:
            stop_worker(worker)
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert QUEUE_BACK in [e.message for e in run.events.all()]
    assert run.loads.get().inserted == len(domain_rows(feed)) > 0
    assert outbox_dispatch().sent == []  # sent once


def test_the_watchdog_sends_runs_stuck_in_the_outbox_and_skips_stopped_ones(
    four_days, s3_endpoint, own_redis
):
    bucket, _ = four_days
    url = f"redis://127.0.0.1:{own_redis.port}/0"
    with broker(url):
        stuck = courier_run_start(courier=users_courier(bucket, s3_endpoint), start_date=DAYS[0])
        stopped = courier_run_start(courier=users_courier(bucket, s3_endpoint),
                                    start_date=DAYS[0])  # fmt: skip
        assert courier_run_stop(run=stopped)
        own_redis.start()
        runs_watchdog(now=timezone.now() + timedelta(minutes=1))
        import redis

        queued = redis.Redis.from_url(url).llen("celery")
    assert RunDispatch.objects.get(run=stuck).dispatched_at is not None
    assert RunDispatch.objects.get(run=stopped).dispatched_at is not None  # closed, not sent
    assert queued == 1  # only the run that is still queued went to the workers
    courier_run_stop(run=stuck)


def test_beat_sends_the_outbox_every_few_seconds():
    schedule = celery_app.conf.beat_schedule
    assert schedule["runs-dispatch"]["task"] == "couriers.dispatch"
    assert schedule["runs-dispatch"]["schedule"] <= 10
    assert schedule["runs-watchdog"]["schedule"] <= 10


# ------------------------------------------------------------------ truthful recovery
def ledger_commit(run, feed, rows: int) -> None:
    """What the load path does: the ledger row inside the load's transaction."""
    with domain_connection() as conn, conn.transaction():
        load_ledger_record(conn, run=run, feed=feed, files=[], truncate=False,
                           result=LoadResult(rows_read=rows, inserted=rows))  # fmt: skip


def test_a_dead_attempts_loads_are_closed_with_what_really_happened(four_days, s3_endpoint):
    bucket, _ = four_days
    committed_feed, interrupted_feed = users_feed("committed"), users_feed("interrupted")
    courier = users_courier(bucket, s3_endpoint, committed_feed)
    run = run_claim(courier_run_start(courier=courier, start_date=DAYS[0], queue=False).pk)
    for feed in (committed_feed, interrupted_feed):
        RunLoad.objects.create(run=run, feed=feed, status=RunLoad.Status.LOADING)
    ledger_commit(run, committed_feed, rows=1234)  # it committed, then the worker died

    assert runs_watchdog(now=timezone.now()) == []  # a live heartbeat is left alone
    assert runs_watchdog(now=timezone.now() + timedelta(minutes=1)) == [run.pk]

    done = RunLoad.objects.get(run=run, feed=committed_feed)
    assert done.status == RunLoad.Status.SUCCEEDED
    assert (done.rows_read, done.inserted, done.error) == (1234, 1234, COMMITTED_BEFORE_DEATH)
    cut = RunLoad.objects.get(run=run, feed=interrupted_feed)
    assert (cut.status, cut.error) == (RunLoad.Status.INTERRUPTED, INTERRUPTED)
    assert cut.get_status_display() == "Interrupted"
    run.refresh_from_db()
    assert run.status == CourierRun.Status.QUEUED
    [event] = run.events.filter(message__startswith=LOST_WORKER)
    assert event.message == (
        f"{LOST_WORKER}; {committed_feed.table_name} committed before it stopped; the load of "
        f"{interrupted_feed.table_name} in progress was rolled back. Retrying (attempt 2 of 3)."
    )
    assert load_ledger_tables(run) == [committed_feed.table_name]
    assert load_ledger_committed(run, committed_feed).rows_read == 1234
    assert load_ledger_committed(run, interrupted_feed) is None
    assert RunDispatch.objects.filter(run=run).count() == 1  # requeued through the outbox
    courier_run_stop(run=run)  # not for the session's worker


def test_a_stale_run_with_no_load_in_progress_says_so(four_days, s3_endpoint):
    bucket, _ = four_days
    run = run_claim(courier_run_start(courier=users_courier(bucket, s3_endpoint),
                                      start_date=DAYS[0], queue=False).pk)  # fmt: skip
    assert courier_run_stop(run=run)
    runs_watchdog(now=timezone.now() + timedelta(minutes=1))
    run.refresh_from_db()
    assert run.status == CourierRun.Status.STOPPED
    assert run.error == "The worker stopped before finishing; no load was in progress."


def test_the_ledger_row_commits_only_with_the_load(four_days, s3_endpoint):
    bucket, _ = four_days
    feed = users_feed()
    run = run_claim(courier_run_start(courier=users_courier(bucket, s3_endpoint, feed),
                                      start_date=DAYS[0], queue=False).pk)  # fmt: skip
    with domain_connection() as conn:
        with pytest.raises(ZeroDivisionError), conn.transaction():
            load_ledger_record(conn, run=run, feed=feed, files=[], truncate=False,
                               result=LoadResult(rows_read=5))  # fmt: skip
            raise ZeroDivisionError  # the load failed after the row was written
        with pytest.raises(RuntimeError, match="inside the load's transaction"):
            load_ledger_record(conn, run=run, feed=feed, files=[], truncate=False,
                               result=LoadResult())  # fmt: skip
    assert not LoadLedger.objects.exists()


def test_the_stale_limit_is_well_under_a_minute(settings):
    from couriers.services.runs import RunPulse, stale_after

    assert stale_after() <= timedelta(seconds=30)
    assert RunPulse(CourierRun()).interval <= 5  # several beats per stale limit


# ------------------------------------------------------------------ retention
def test_retention_prunes_old_runs_lines_and_keeps_recent_and_active(four_days, s3_endpoint):
    bucket, _ = four_days
    feed = users_feed()
    old = courier_run_start(courier=users_courier(bucket, s3_endpoint, feed), start_date=DAYS[0],
                            queue=False)  # fmt: skip
    old = run_claim(old.pk)
    RunReject.objects.create(run=old, feed=feed, file="f", row=1, field="x", reason="bad")
    run_finish(old, CourierRun.Status.FAILED, "old failure")
    active = courier_run_start(courier=users_courier(bucket, s3_endpoint), start_date=DAYS[0],
                               queue=False)  # fmt: skip
    now = timezone.now() + timedelta(days=91)
    Notification.objects.filter(subject=f"courier-run:{old.pk}").update(
        updated_at=timezone.now() - timedelta(days=1)
    )

    pruned = retention_prune(now=now)
    assert pruned["run events"] >= 2 and pruned["rejected rows"] == 1
    assert pruned["notifications"] == 1  # the old run's; the active run's is still running
    assert not old.events.exists() and not old.rejects.exists()
    assert CourierRun.objects.filter(pk=old.pk).exists()  # the run history stays
    assert active.events.exists()
    assert retention_prune(now=timezone.now()) == {
        "run events": 0, "rejected rows": 0, "outbox entries": 0, "ledger rows": 0,
        "notifications": 0,
    }  # fmt: skip
