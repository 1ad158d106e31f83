"""Database faults are transient faults: a load whose connection is terminated is retried and
loads once; the run says what happened."""

from __future__ import annotations

import contextlib
import threading
from datetime import date

import psycopg
import pytest
from django.conf import settings
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import conninfo
from couriers import feed_load
from couriers.models import CourierRun, RunLoad
from couriers.services.runs import courier_run_start
from tests.conftest import wait_until
from tests.couriers.test_trust_runs import by_id, csv_courier, csv_feed, put_csv, upserting
from tests.factories import run_finished, run_here

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2024, 3, 1)


class TerminateTheLoad(threading.Thread):
    """Hold the table's load lock, terminate the first load that waits for it, then let go:
    the retry finds the table free."""

    def __init__(self, table: str):
        super().__init__(daemon=True)
        self.table = table
        self.locked = threading.Event()
        self.terminated = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._terminate_the_first_waiting_load()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _terminate_the_first_waiting_load(self) -> None:
        with (
            psycopg.connect(conninfo()) as conn,
            psycopg.connect(conninfo(), autocommit=True) as watch,  # fresh activity snapshots
        ):
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7091))",
                (f"{settings.DOMAIN_SCHEMA}\x1f{self.table}",),
            )
            self.locked.set()

            def waiting() -> int | None:
                row = watch.execute(  # the load tries the lock, and tries again
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE query LIKE '%%pg_try_advisory_xact_lock%%' "
                    "AND pid NOT IN (%s, pg_backend_pid())",
                    (conn.info.backend_pid,),
                ).fetchone()
                return row[0] if row else None

            pid = wait_until(waiting, timeout=60, message="no load waited for the table")
            watch.execute("SELECT pg_terminate_backend(%s)", (pid,))
            self.terminated += 1
            conn.rollback()  # releases the lock: the retry goes through


def test_a_terminated_database_connection_is_retried_and_loads_once(
    s3, bucket, s3_endpoint, monkeypatch
):
    monkeypatch.setattr(feed_load, "LOAD_RETRY_SECONDS", 0.01)
    feed = csv_feed(bucket)
    put_csv(s3, bucket, DAY, "user_id,name,email,city\n1,Ann,a@x,Paris\n2,Bob,b@x,Oslo\n")
    killer = TerminateTheLoad(feed.table_name)
    killer.start()
    killer.locked.wait(10)
    run = run_here(csv_courier(bucket, s3_endpoint, upserting(feed)), start_date=DAY)
    killer.join(10)
    assert killer.error is None and killer.terminated == 1, killer.error
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert by_id(feed, "name", "city") == {1: ("Ann", "Paris"), 2: ("Bob", "Oslo")}
    events = "\n".join(run.events.values_list("message", flat=True))
    assert "the database connection was lost" in events
    assert "trying again (attempt 2 of 3)" in events
    load = run.loads.get()
    assert (load.status, load.inserted) == ("succeeded", 2)


# ------------------------------------------------------------------ a table another load holds
@contextlib.contextmanager
def table_held(table: str):
    """Another session holding the table's load lock, as a concurrent load does."""
    with psycopg.connect(conninfo()) as conn:
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7091))",
            (f"{settings.DOMAIN_SCHEMA}\x1f{table}",),
        )
        yield
        conn.rollback()


def test_a_load_waiting_for_another_says_so_and_gives_up_in_time(s3, bucket, s3_endpoint, settings):
    settings.SOURCES_LOAD_LOCK_WAIT_SECONDS = 2
    feed = csv_feed(bucket)
    put_csv(s3, bucket, DAY, "user_id,name,email,city\n1,Ann,a@x,Paris\n")
    courier = csv_courier(bucket, s3_endpoint, upserting(feed))
    other = courier_run_start(courier=courier, start_date=DAY, queue=False, started_by="test")
    RunLoad.objects.create(run=other, feed=feed, status=RunLoad.Status.LOADING)
    CourierRun.objects.filter(pk=other.pk).update(status=CourierRun.Status.FAILED)  # not active
    with table_held(feed.table_name):
        run = run_here(courier, start_date=DAY)
    assert run.status == CourierRun.Status.FAILED
    assert run.error == (
        f"{feed.table_name}: run {other.pk} kept loading this table for more than 2 s "
        "(setting SOURCES_LOAD_LOCK_WAIT_SECONDS); nothing was written. Run the courier "
        "again once it has finished."
    )
    events = list(run.events.values_list("message", flat=True))
    assert f"Waiting for run {other.pk} to finish loading {feed.table_name}" in events
    assert by_id(feed, "name") == {}
    assert run.loads.get().status == RunLoad.Status.FAILED


@contextlib.contextmanager
def inserts_blocked(table: str):
    """A session holding SHARE on the table: reads go on, the load's INSERT waits."""
    with psycopg.connect(conninfo()) as conn:
        conn.execute(
            sql.SQL("LOCK TABLE {} IN SHARE MODE").format(
                sql.Identifier(settings.DOMAIN_SCHEMA, table)
            )
        )
        yield
        conn.rollback()


def test_stop_while_a_load_commits_is_answered_honestly(
    celery_worker, analyst_client, s3, bucket, s3_endpoint
):
    feed = csv_feed(bucket)
    courier = csv_courier(bucket, s3_endpoint, upserting(feed))
    put_csv(s3, bucket, DAY, "user_id,name,email,city\n1,Ann,a@x,Paris\n")
    assert run_here(courier, start_date=DAY).status == CourierRun.Status.SUCCEEDED
    put_csv(s3, bucket, DAY, "user_id,name,email,city\n1,Ann,a@x,Lyon\n2,Bob,b@x,Oslo\n")
    with inserts_blocked(feed.table_name):
        run = courier_run_start(courier=courier, start_date=DAY, started_by="test")
        load = wait_until(
            lambda: RunLoad.objects.filter(run=run, status=RunLoad.Status.COMMITTING).first(),
            message="the load never reached its commit",
        )
        page = analyst_client.post(reverse("couriers:run_stop", args=[run.pk]), follow=True)
        assert f"Too late to stop the load of {load.feed.table_name}" in page.content.decode()
    wait_until(lambda: run_finished(run), message="the run did not finish")
    assert run.status == CourierRun.Status.STOPPED
    assert run.error == (
        "The load in progress was rolled back. Loaded completely before the stop: "
        f"{feed.table_name}."
    )
    assert by_id(feed, "city") == {1: ("Lyon",), 2: ("Oslo",)}  # its new rows were kept
