"""Benchmark the scheduler tick over 1,000 active courier groups.

    .venv/bin/python bench/scheduler.py [N]      (default 1000)

Uses DATABASE_URL (else a throw-away embedded Postgres; the database is created and
migrated if missing). Creates N groups (a mix of */5-minute, hourly and daily schedules in
four time zones), each with its own courier, then ticks with a controllable clock:
a busy minute (08:00, when the */5 and hourly groups are all due), quiet minutes with those
runs in flight, and a minute where courier runs finished. Courier-run tasks go to an
in-memory broker (nothing executes them): the tick's own cost is measured, as the Celery
task runs it (`advance=False`: runs with work are fanned out to workers). The last line is
machine-readable: the slowest tick.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")  # the figures, not every run request
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")


def ensure_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.get("dbname")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def main(n: int) -> None:
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)

    from courier_groups.models import CourierGroup, GroupMember
    from courier_groups.services.scheduler import scheduler_tick
    from couriers.models import Courier, CourierRun
    from credentials.models import Credential

    CourierGroup.objects.filter(name__startswith="bench-").delete()
    Courier.objects.filter(name__startswith="bench-").delete()
    credential, _ = Credential.objects.get_or_create(name="bench", kind="iam-credential")

    # Distinct schedules, as real groups have (only every 5-minute one is shared).
    def cron(i: int) -> str:
        kind = i % 3
        if kind == 0:
            return "*/5 * * * *"
        if kind == 1:
            return f"{(i // 3) % 2 * 30} * * * {'*' if i % 2 else '1-5'}"  # hourly at :00/:30
        return f"{(i // 3) % 60} {(i // 7) % 24} * * *"  # daily, spread over the day

    zones = ["UTC", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata"]
    start = datetime(2024, 6, 3, 7, 58, tzinfo=UTC)
    couriers = Courier.objects.bulk_create(
        Courier(name=f"bench-{i:05d}", credential=credential, bucket="bench", entities=[])
        for i in range(n)
    )
    groups = CourierGroup.objects.bulk_create(
        CourierGroup(
            name=f"bench-{i:05d}",
            cron=cron(i),
            timezone=zones[i % 4],
            schedule_since=start,
        )
        for i in range(n)
    )
    GroupMember.objects.bulk_create(
        GroupMember(group=g, courier=c, offset_minutes=24 * 60, wait_minutes=30)
        for g, c in zip(groups, couriers, strict=True)
    )
    distinct = len({(g.cron, g.timezone) for g in groups})
    print(f"{n} active groups, one courier each; {distinct} distinct schedule/zone pairs")

    def tick(label: str, now: datetime, advance: bool = False) -> float:
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            t0 = time.perf_counter()
            result = scheduler_tick(now=now, advance=advance)
            ms = (time.perf_counter() - t0) * 1000
        print(
            f"{label:<44} {ms:8.1f} ms  started={len(result.started):4d} "
            f"to_advance={len(result.to_advance):4d} advanced={result.advanced:4d} "
            f"queries={len(queries)}"
        )
        return ms

    timings = []
    timings.append(tick("07:59 quiet (nothing due)", start + timedelta(minutes=1, seconds=3)))
    timings.append(
        tick(
            "08:00 busy (*/5, hourly :00 and daily 08:00 due)",
            start + timedelta(minutes=2, seconds=3),
        )
    )
    timings.append(
        tick("08:00 repeated tick (exactly once)", start + timedelta(minutes=2, seconds=9))
    )
    # The fan-out: workers advance the new runs (start their couriers); timed separately.
    t0 = time.perf_counter()
    from courier_groups.models import GroupRun
    from courier_groups.services.scheduler import advance_one

    new = list(GroupRun.objects.filter(status="queued").values_list("pk", flat=True))
    for run_id in new:
        advance_one(run_id, start + timedelta(minutes=2, seconds=10))
    per_run = (time.perf_counter() - t0) * 1000 / max(len(new), 1)
    print(f"{'(workers) advance one new run, on average':<44} {per_run:8.1f} ms  runs={len(new)}")
    for minute in (3, 4, 5):
        timings.append(
            tick(f"08:0{minute - 2} quiet, runs in flight", start + timedelta(minutes=minute))
        )
    CourierRun.objects.filter(
        courier__name__startswith="bench-", courier__id__in=[c.pk for c in couriers[::2]]
    ).update(status="succeeded")
    timings.append(tick("08:04 half the courier runs ended", start + timedelta(minutes=6)))
    timings.append(tick("08:05 busy (*/5 due again)", start + timedelta(minutes=7, seconds=1)))
    print(f"median {statistics.median(timings):.1f} ms over {len(timings)} ticks")
    print(f"tick_ms_1000_groups={max(timings):.1f}")


if __name__ == "__main__":
    from amperity_sources.embedded import database_url_or_embedded

    with database_url_or_embedded("sources_bench") as url:
        os.environ["DATABASE_URL"] = url
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
