"""The scheduler tick with a controllable clock: due times, DST, exactly once, catch-up."""

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from courier_groups.models import CourierGroup, GroupRun
from courier_groups.schedule import latest_due
from courier_groups.services.scheduler import due_time, scheduler_tick

LA = ZoneInfo("America/Los_Angeles")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def since(group, moment):
    """Pretend the group was set up at `moment` (its schedule counts from then)."""
    CourierGroup.objects.filter(pk=group.pk).update(schedule_since=moment, created_at=moment)


def scheduled(group):
    return list(
        group.runs.filter(trigger="schedule")
        .order_by("scheduled_for")
        .values_list("scheduled_for", "status")
    )


@pytest.mark.django_db
def test_a_group_runs_when_its_time_comes_in_its_own_time_zone(make_group):
    group = make_group(cron="30 8 * * *", tz="America/Los_Angeles")
    since(group, utc(2024, 6, 3, 0, 0))
    # 08:30 in Los Angeles (PDT, UTC-7) is 15:30 UTC, not 08:30 UTC.
    assert scheduler_tick(now=utc(2024, 6, 3, 8, 30)).started == []
    assert scheduler_tick(now=utc(2024, 6, 3, 15, 29, 59)).started == []
    result = scheduler_tick(now=utc(2024, 6, 3, 15, 30, 5))
    assert len(result.started) == 1
    assert scheduled(group) == [(utc(2024, 6, 3, 15, 30), "succeeded")]  # no couriers: done
    # The next minute's tick does not start it again.
    assert scheduler_tick(now=utc(2024, 6, 3, 15, 31)).started == []


@pytest.mark.django_db
def test_spring_forward_a_missing_local_time_runs_once_at_the_next_valid_minute(make_group):
    group = make_group(cron="30 2 * * *", tz="America/Los_Angeles")
    since(group, utc(2024, 3, 10, 8, 0))  # 00:00 PST on the spring-forward day
    # 02:30 does not exist on 2024-03-10 in Los Angeles: it runs at 03:00 PDT = 10:00 UTC.
    for minute in [*range(0, 120, 7), 60, 61]:
        scheduler_tick(now=utc(2024, 3, 10, 9, 0) + timedelta(minutes=minute))
    assert scheduled(group) == [(utc(2024, 3, 10, 10, 0), "succeeded")]
    assert utc(2024, 3, 10, 10, 0).astimezone(LA).strftime("%H:%M %Z") == "03:00 PDT"


@pytest.mark.django_db
def test_fall_back_a_repeated_local_time_runs_once(make_group):
    group = make_group(cron="30 1 * * *", tz="America/Los_Angeles")
    since(group, utc(2024, 11, 3, 7, 0))  # 00:00 PDT on the fall-back day
    # 01:30 happens twice on 2024-11-03 (PDT 08:30 UTC, then PST 09:30 UTC): one run.
    for minute in [*range(0, 240, 7), 90, 91, 150, 151]:
        scheduler_tick(now=utc(2024, 11, 3, 7, 0) + timedelta(minutes=minute))
    assert scheduled(group) == [(utc(2024, 11, 3, 8, 30), "succeeded")]


def test_the_fast_due_time_agrees_with_the_schedule_module():
    zones = ["UTC", "America/Los_Angeles", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]
    crons = ["*/30 * * * *", "0 * * * *", "30 2 * * *", "30 1 * * *", "15 8 * * 1-5"]
    start = utc(2024, 3, 9, 0, 0)
    for zone in zones:
        for cron in crons:
            for step in range(0, 24 * 60 * 3, 173):  # across LA's spring-forward
                now = start + timedelta(minutes=step)
                assert due_time(cron, ZoneInfo(zone), now) == latest_due(cron, zone, now), (
                    zone,
                    cron,
                    now,
                )


@pytest.mark.django_db
def test_after_downtime_the_latest_missed_time_runs_and_older_ones_are_skipped(make_group):
    group = make_group(cron="0 * * * *")
    since(group, utc(2024, 6, 3, 0, 30))
    scheduler_tick(now=utc(2024, 6, 3, 1, 0))  # the 01:00 run
    # The scheduler is down from 01:01 to 05:10.
    result = scheduler_tick(now=utc(2024, 6, 3, 5, 10))
    assert len(result.started) == 1 and len(result.skipped) == 3
    assert scheduled(group) == [
        (utc(2024, 6, 3, 1), "succeeded"),
        (utc(2024, 6, 3, 2), "skipped"),
        (utc(2024, 6, 3, 3), "skipped"),
        (utc(2024, 6, 3, 4), "skipped"),
        (utc(2024, 6, 3, 5), "succeeded"),
    ]
    skipped = group.runs.filter(status="skipped").first()
    assert skipped.message == "missed while the scheduler was down"


@pytest.mark.django_db
def test_an_inactive_group_does_not_run_and_is_not_back_filled_when_activated(make_group):
    group = make_group(cron="0 * * * *", active=False)
    since(group, utc(2024, 6, 3, 0, 0))
    assert scheduler_tick(now=utc(2024, 6, 3, 3, 0)).started == []
    CourierGroup.objects.filter(pk=group.pk).update(
        active=True, schedule_since=utc(2024, 6, 3, 3, 5)
    )
    result = scheduler_tick(now=utc(2024, 6, 3, 3, 30))
    assert result.started == [] and result.skipped == []
    assert len(scheduler_tick(now=utc(2024, 6, 3, 4, 0)).started) == 1


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_ticking_the_same_minute_start_one_run(make_group):
    groups = [make_group(name=f"G{i}", cron="*/5 * * * *") for i in range(20)]
    for group in groups:
        since(group, utc(2024, 6, 3, 11, 58))
    now = utc(2024, 6, 3, 12, 0, 1)
    barrier = threading.Barrier(4)
    results = []

    def tick():
        try:
            barrier.wait()
            results.append(scheduler_tick(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=tick) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.started) for r in results) == 20
    assert GroupRun.objects.count() == 20
    for group in groups:
        assert scheduled(group) == [(utc(2024, 6, 3, 12, 0), "succeeded")]
