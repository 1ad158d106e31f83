"""Database faults are transient faults: a load whose connection is terminated is retried and
loads once; the run says what happened."""

from __future__ import annotations

import threading
from datetime import date

import psycopg
import pytest
from django.conf import settings

from amperity_sources.db import conninfo
from couriers import feed_load
from couriers.models import CourierRun
from tests.conftest import wait_until
from tests.couriers.test_trust_runs import by_id, csv_courier, csv_feed, put_csv, upserting
from tests.factories import run_here

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

    def run(self) -> None:
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
                row = watch.execute(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%%pg_advisory_xact_lock%%' AND pid <> %s",
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
    assert killer.terminated == 1
    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert by_id(feed, "name", "city") == {1: ("Ann", "Paris"), 2: ("Bob", "Oslo")}
    events = "\n".join(run.events.values_list("message", flat=True))
    assert "the database connection was lost" in events
    assert "trying again (attempt 2 of 3)" in events
    load = run.loads.get()
    assert (load.status, load.inserted) == ("succeeded", 2)
