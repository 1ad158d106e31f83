"""Recovery once the load path writes the load ledger (feed_load.py / pipeline.py wiring):
a worker killed after one feed's load committed and during the next one's. The retried run
must not load (or truncate) the committed feed again, and every line it shows must be true."""

from __future__ import annotations

import os
import signal
import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone  # noqa: E402

from couriers.models import CourierRun, LoadLedger, RunLoad  # noqa: E402
from couriers.services.runs import LOST_WORKER, courier_run_start, runs_watchdog  # noqa: E402
from couriers.tasks import execute_run  # noqa: E402
from demo import expected_tables, write_dated_export  # noqa: E402
from tests.conftest import wait_until  # noqa: E402
from tests.couriers.test_run_faults import start_own_worker  # noqa: E402
from tests.factories import (  # noqa: E402
    USERS_FIELDS,
    domain_rows,
    make_feed,
    run_finished,
    users_courier,
)
from tests.s3_faults import FaultProxy  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)
DAYS = [date(2024, 6, 1) + timedelta(days=i) for i in range(4)]


@pytest.mark.worker
def test_a_feed_committed_before_the_worker_died_is_not_loaded_again(
    celery_worker, s3, s3_endpoint, tmp_path
):
    bucket = f"wiring-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    summary = write_dated_export(s3, bucket, DAYS, rows=2000, seed=23, tables=("users",))
    expected = expected_tables(summary.spec, ["users"])["users"]
    feeds = [
        make_feed("Heap", f"Users {n} {uuid.uuid4().hex[:6]}", USERS_FIELDS, ["user_id"],
                  last_updated="last_modified")
        for n in ("A", "B")
    ]  # fmt: skip
    # Load operations are stored as jsonb, whose keys (feed ids, all of one length) come back
    # in byte order: that is the order the feeds load in.
    first, second = sorted(feeds, key=lambda f: f.pk.encode())
    with FaultProxy(s3_endpoint) as proxy:
        courier = users_courier(bucket, proxy.url, load_operations={
            first.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}],
            second.pk: [{"type": "load", "file": "users"}],
        })  # fmt: skip
        proxy.delay = 1.0  # every S3 request: the second feed's load stays in progress a while
        queue = f"doomed-{uuid.uuid4().hex[:6]}"
        worker = start_own_worker(tmp_path, queue)
        try:
            run = courier_run_start(courier=courier, mode="period", start_date=DAYS[0],
                                    end_date=DAYS[-1] + timedelta(days=1), queue=False)  # fmt: skip
            execute_run.apply_async((run.pk,), queue=queue)
            wait_until(
                lambda: LoadLedger.objects.filter(run=run, feed=first).exists()
                and RunLoad.objects.filter(run=run, feed=second,
                                           status=RunLoad.Status.LOADING).exists(),
                timeout=120, interval=0.05, message="the first feed never committed",
            )  # fmt: skip
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
        proxy.calm()
        assert runs_watchdog(now=timezone.now() + timedelta(minutes=5)) == [run.pk]
        wait_until(lambda: run_finished(run), timeout=120, message="the retry did not finish")

    assert run.status == CourierRun.Status.SUCCEEDED, run.error
    assert LoadLedger.objects.filter(run=run, feed=first).count() == 1  # loaded once
    assert LoadLedger.objects.filter(run=run, feed=second).count() == 1
    lost = run.events.get(message__startswith=LOST_WORKER).message
    assert f"{first.table_name} committed before it stopped" in lost
    assert f"the load of {second.table_name} in progress was rolled back" in lost
    assert not run.loads.filter(status=RunLoad.Status.LOADING).exists()
    for feed in (first, second):
        rows = {r["user_id"]: r for r in domain_rows(feed)}
        assert rows.keys() == expected.keys()  # the truncate feed was not emptied
