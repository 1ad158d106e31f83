"""Kill the worker mid-load, again and again, and check that every run ends correct.

    .venv/bin/python bench/recovery.py [KILLS] [ROWS]     (default 10 kills, 300_000 rows)

Starts a throw-away embedded stack, writes the demo generator's dated users export
(``demo.write_dated_export``) and a courier that truncates and loads it, and runs the product
as the launcher does: a supervised worker and beat (the watchdog and the outbox dispatcher run
from beat). Each round starts a run, waits until its COPY is under way, SIGKILLs the whole
worker (main process and pool), and waits: the supervisor restarts the worker, the watchdog
notices the stale run and requeues it, and the retry loads the table. A round is clean when
the run succeeded, the table equals the generator's ground truth (``demo.expected_tables``),
and no feed row was left "Loading". Recovery = from the kill to the retry's start.
The last line is machine-readable: ``recovery_clean=N/KILLS recovery_seconds_max=S``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DAYS = [date(2024, 7, 1) + timedelta(days=i) for i in range(6)]


def main() -> None:
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
    from amperity_sources.launcher import Stack, _child_env

    data_dir = Path(tempfile.mkdtemp(prefix="recovery-bench-"))
    stack = Stack(data_dir, fixed_ports=False)
    os.environ.update(_child_env(stack.start()))
    try:
        last_line = run_bench(data_dir, kills, rows)
    finally:
        stack.stop()
    print(last_line, flush=True)


def run_bench(data_dir: Path, kills: int, rows: int) -> str:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from amperity_sources.embedded import _terminate
    from amperity_sources.supervisor import Service, Supervisor
    from couriers.models import CourierRun, RunLoad
    from couriers.services.runs import courier_run_start
    from demo import ensure_bucket, expected_tables, make_s3_client, write_dated_export
    from tests.factories import USERS_FIELDS, domain_rows, make_feed, users_courier

    endpoint = os.environ["S3_ENDPOINT_URL"]
    bucket = f"recovery-{uuid.uuid4().hex[:8]}"
    s3 = make_s3_client(endpoint, "test", "test-secret")  # moto takes any keys
    ensure_bucket(s3, bucket)
    started = time.monotonic()
    summary = write_dated_export(s3, bucket, DAYS, rows=rows, seed=41, tables=("users",))
    truth = expected_tables(summary.spec, ["users"])["users"]
    print(f"export: {rows:,} rows written in {time.monotonic() - started:.0f} s, "
          f"{len(truth):,} users expected", flush=True)  # fmt: skip
    feed = make_feed("Heap", f"Users recovery {uuid.uuid4().hex[:6]}", USERS_FIELDS, ["user_id"],
                     last_updated="last_modified")  # fmt: skip
    courier = users_courier(
        bucket, endpoint,
        load_operations={feed.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}]},
    )  # fmt: skip

    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")

    def spawner(name: str, command: list[str]):
        def spawn() -> subprocess.Popen:
            return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                    stdout=(logs / f"{name}.log").open("ab"),
                                    stderr=subprocess.STDOUT)  # fmt: skip

        return spawn

    celery = [sys.executable, "-m", "celery", "-A", "amperity_sources"]
    supervisor = Supervisor(data_dir / "status.json")
    worker = supervisor.add(Service(
        "worker", spawner("worker", [*celery, "worker", "-l", "info", "--concurrency", "2"]),
        _terminate, log=logs / "worker.log",
    ))  # fmt: skip
    supervisor.add(Service(
        "beat", spawner("beat", [*celery, "beat", "-l", "info",
                                 "-s", str(data_dir / "celerybeat-schedule")]),
        _terminate, log=logs / "beat.log",
    ))  # fmt: skip
    stop = threading.Event()
    thread = threading.Thread(target=lambda: [supervisor.check() for _ in iter(
        lambda: stop.wait(0.5), True)], daemon=True)  # fmt: skip
    thread.start()

    clean, recoveries = 0, []
    rng = random.Random(7)
    try:
        for round_no in range(1, kills + 1):
            run = courier_run_start(courier=courier, mode="period", start_date=DAYS[0],
                                    end_date=DAYS[-1] + timedelta(days=1), reload=True)  # fmt: skip
            if not _wait(lambda run=run: _mid_load(run), 180):
                print(f"round {round_no}: the load never started ({run.status})", flush=True)
                _wait(lambda run=run: _finished(run), 300)
                continue
            time.sleep(rng.uniform(0, 1.5))  # kill at different points of the load
            attempt = run.attempts
            pid = worker.process.pid
            killed_at = time.monotonic()
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            retried = _wait(lambda run=run, a=attempt: _retry_started(run, a), 300)
            recovery = time.monotonic() - killed_at
            finished = _wait(lambda run=run: _finished(run), 600)
            ok = (
                retried
                and finished
                and run.status == CourierRun.Status.SUCCEEDED
                and not RunLoad.objects.filter(run=run, status=RunLoad.Status.LOADING).exists()
                and _matches(domain_rows(feed), truth)
            )
            clean += bool(ok)
            if retried:
                recoveries.append(recovery)
            lost = [e.message for e in run.events.filter(level="warning")]
            print(f"round {round_no}: {'clean' if ok else 'NOT CLEAN'}, "
                  f"{f'recovered in {recovery:.1f} s' if retried else 'never retried'}, "
                  f"run {run.status} after {run.attempts} attempts; {' | '.join(lost)}"
                  + ("" if ok else f" error={run.error!r}"), flush=True)  # fmt: skip
    finally:
        stop.set()
        thread.join()
        supervisor.stop_all()
    worst = max(recoveries) if recoveries else float("nan")
    return f"recovery_clean={clean}/{kills} recovery_seconds_max={worst:.1f}"


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _mid_load(run) -> bool:
    from couriers.models import CourierRun

    run.refresh_from_db()
    return run.status == CourierRun.Status.RUNNING and run.rows_done > 0


def _retry_started(run, attempt: int) -> bool:
    run.refresh_from_db()
    return run.attempts > attempt or not run.is_active


def _finished(run) -> bool:
    run.refresh_from_db()
    return not run.is_active


def _matches(rows: list[dict], truth: dict) -> bool:
    if len(rows) != len(truth):
        return False
    by_id = {r["user_id"]: r for r in rows}
    return all(
        by_id.get(k, {}).get("email") == v["email"]
        and by_id[k]["last_modified"] == v["last_modified"]
        for k, v in truth.items()
    )


if __name__ == "__main__":
    main()
