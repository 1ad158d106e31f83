"""Group runs driven by the tick with a controllable clock: offsets, waits, missing files,
constraints, the runtime alert. The couriers' runs are queued for real (no worker here);
their outcome is written the way the pipeline's run_finish writes it."""

from datetime import UTC, date, datetime

import pytest

from courier_groups.models import CourierGroup, GroupRun
from courier_groups.services.groups import MemberSpec
from courier_groups.services.runs import group_run_start
from courier_groups.services.scheduler import scheduler_tick
from couriers.models import CourierRun
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def since(group, moment):
    CourierGroup.objects.filter(pk=group.pk).update(schedule_since=moment, created_at=moment)


def finish(courier, status, error=""):
    CourierRun.objects.filter(courier=courier, status__in=CourierRun.ACTIVE_STATUSES).update(
        status=status, error=error, finished_at=utc(2024, 6, 3, 16)
    )


def test_offset_sets_the_file_dates_a_scheduled_run_accepts(make_courier, make_group):
    day_old = make_courier("Day old")
    hour_old = make_courier("Hour old")
    group = make_group(
        cron="30 8 * * *",
        tz="America/Los_Angeles",
        couriers=[
            MemberSpec(courier=day_old, offset_minutes=24 * 60, wait_minutes=60),
            MemberSpec(courier=hour_old, offset_minutes=60),
        ],
    )
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 15, 30))  # 08:30 PDT
    a = day_old.runs.get()
    b = hour_old.runs.get()
    # A file stamped the previous day (2024-06-02) is accepted at 24 h, refused at 1 h.
    assert (a.mode, a.start_date, a.end_date) == ("period", date(2024, 6, 2), date(2024, 6, 4))
    assert (b.start_date, b.end_date) == (date(2024, 6, 3), date(2024, 6, 4))
    # The wait: keep looking for missing files until 09:30 PDT.
    assert a.wait_until == utc(2024, 6, 3, 16, 30) and b.wait_until is None
    assert a.started_by == f"courier group {group.name}"


def test_file_dates_in_utc_when_the_group_time_zone_is_not_used_for_dates(make_courier, make_group):
    courier = make_courier()
    group = make_group(
        cron="0 20 * * *",
        tz="America/Los_Angeles",
        use_timezone_for_dates=False,
        couriers=[courier],
    )
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 4, 3, 0))  # 20:00 PDT on the 3rd is 03:00 UTC on the 4th
    run = courier.runs.get()
    assert (run.start_date, run.end_date) == (date(2024, 6, 4), date(2024, 6, 5))


def test_group_succeeds_only_when_every_courier_has_finished(make_courier, make_group):
    users, events = make_courier("Users"), make_courier("Events")
    group = make_group(cron="0 8 * * *", couriers=[users, events])
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    run = group.runs.get()
    assert run.status == "running"
    assert Notification.objects.get(subject=f"group-run:{run.pk}").level == "running"
    finish(users, "succeeded")
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    run.refresh_from_db()
    assert run.status == "running"
    finish(events, "succeeded")
    scheduler_tick(now=utc(2024, 6, 3, 8, 2))
    run.refresh_from_db()
    assert run.status == "succeeded"
    done = Notification.objects.get(subject=f"group-run:{run.pk}")
    assert done.level == "completed" and done.message.startswith("Completed in 2 minutes")


MISSING = (
    "Missing required file: entities[0]: 'users-'yyyy-MM-dd'.csv' for 2024-06-03 "
    "(users-2024-06-03.csv). Check the file pattern and the date, mark the entity optional, "
    "or run with Skip missing files."
)


def test_a_missing_file_warns_and_the_group_goes_on(make_courier, make_group):
    users, events = make_courier("Users"), make_courier("Events")
    group = make_group(
        cron="0 8 * * *",
        couriers=[MemberSpec(courier=users, notify_when_missing=True), events],
    )
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    finish(users, "failed", MISSING)
    finish(events, "succeeded")
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    run = group.runs.get()
    assert run.status == "succeeded"
    warning = Notification.objects.get(subject=f"group-run:{run.pk}:missing:{users.pk}")
    assert warning.level == "warning"
    assert "Users is missing files" in warning.title and "users-2024-06-03.csv" in warning.message
    assert Notification.objects.get(subject=f"group-run:{run.pk}").level == "warning"


def test_stop_when_missing_fails_the_group_and_stops_the_others(make_courier, make_group):
    users, events = make_courier("Users"), make_courier("Events")
    group = make_group(
        cron="0 8 * * *",
        couriers=[MemberSpec(courier=users, stop_when_missing=True), events],
    )
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    finish(users, "failed", MISSING)
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    run = group.runs.get()
    assert run.status == "failed"
    assert "Users is missing files" in run.message and "2024-06-03" in run.message
    assert events.runs.get().status == "stopped"  # it had not started: stopped at once
    error = Notification.objects.get(subject=f"group-run:{run.pk}:missing:{users.pk}")
    assert error.level == "error"
    assert Notification.objects.get(subject=f"group-run:{run.pk}").level == "error"


def test_missing_without_notify_posts_no_missing_notification(make_courier, make_group):
    users = make_courier("Users")
    group = make_group(
        cron="0 8 * * *", couriers=[MemberSpec(courier=users, notify_when_missing=False)]
    )
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    finish(users, "failed", MISSING)
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    assert not Notification.objects.filter(subject__contains=":missing:").exists()


def test_a_group_waits_for_its_required_group_in_the_same_window(make_courier, make_group):
    upstream_courier = make_courier("Upstream")
    upstream = make_group(name="Upstream", cron="0 8 * * *", couriers=[upstream_courier])
    downstream_courier = make_courier("Downstream")
    downstream = make_group(
        name="Downstream", cron="0 8 * * *", couriers=[downstream_courier], requires=[upstream]
    )
    for g in (upstream, downstream):
        since(g, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    waiting = downstream.runs.get()
    assert waiting.status == "waiting" and '"Upstream"' in waiting.message
    assert not downstream_courier.runs.exists()
    finish(upstream_courier, "succeeded")
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    scheduler_tick(now=utc(2024, 6, 3, 8, 2))
    waiting.refresh_from_db()
    assert waiting.status == "running"
    assert downstream_courier.runs.count() == 1


def test_a_failed_required_group_fails_the_waiting_one(make_courier, make_group):
    upstream_courier = make_courier("Upstream")
    upstream = make_group(name="Upstream", cron="0 8 * * *", couriers=[upstream_courier])
    downstream = make_group(name="Downstream", cron="0 8 * * *", requires=[upstream])
    for g in (upstream, downstream):
        since(g, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    finish(upstream_courier, "failed", "The bucket does not exist.")
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    scheduler_tick(now=utc(2024, 6, 3, 8, 2))
    run = downstream.runs.get()
    assert run.status == "failed" and '"Upstream" failed' in run.message


def test_a_group_cannot_wait_on_a_group_that_waits_on_it(make_group):
    from django.core.exceptions import ValidationError

    from courier_groups.services.groups import group_update

    a = make_group(name="A")
    b = make_group(name="B", requires=[a])
    with pytest.raises(ValidationError) as err:
        group_update(
            group=a,
            name="A",
            cron=a.cron,
            timezone_name="UTC",
            use_timezone_for_dates=True,
            active=True,
            alert_after_minutes=None,
            members=[],
            requires=[b],
        )
    assert "wait on each other" in str(err.value)


def test_runtime_over_the_alert_threshold_warns_once(make_courier, make_group):
    courier = make_courier()
    group = make_group(cron="0 8 * * *", couriers=[courier], alert_after_minutes=30)
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 29))
    run = group.runs.get()
    assert not Notification.objects.filter(subject=f"group-run:{run.pk}:slow").exists()
    scheduler_tick(now=utc(2024, 6, 3, 8, 31))
    scheduler_tick(now=utc(2024, 6, 3, 8, 32))
    slow = Notification.objects.get(subject=f"group-run:{run.pk}:slow")
    assert slow.level == "warning" and "threshold is 30 minutes" in slow.message


def test_a_manual_run_loads_the_asked_day_widened_by_the_offset(make_courier, make_group):
    courier = make_courier()
    group = make_group(couriers=[MemberSpec(courier=courier, offset_minutes=24 * 60)])
    run = group_run_start(
        group=group, mode="day", start_date=date(2024, 6, 3), started_by="analyst"
    )
    assert run.status == "running" and run.trigger == "manual"
    cr = courier.runs.get()
    assert (cr.start_date, cr.end_date) == (date(2024, 6, 2), date(2024, 6, 4))


def test_a_busy_courier_is_started_when_it_is_free(make_courier, make_group):
    from couriers.services.runs import courier_run_start

    courier = make_courier()
    other = courier_run_start(courier=courier, mode="all", started_by="analyst")
    group = make_group(cron="0 8 * * *", couriers=[courier])
    since(group, utc(2024, 6, 3, 0))
    scheduler_tick(now=utc(2024, 6, 3, 8, 0))
    part = group.runs.get().couriers.get()
    assert part.courier_run is None and "already running" in part.message
    CourierRun.objects.filter(pk=other.pk).update(status="succeeded")
    scheduler_tick(now=utc(2024, 6, 3, 8, 1))
    part.refresh_from_db()
    assert part.courier_run is not None and part.status == "running"


def test_group_run_exists_once_per_scheduled_time(make_group):
    from courier_groups.services.runs import GroupRunExists

    group = make_group()
    group_run_start(group=group, scheduled_for=utc(2024, 6, 3, 8, 30), trigger="schedule")
    with pytest.raises(GroupRunExists):
        group_run_start(group=group, scheduled_for=utc(2024, 6, 3, 8, 30), trigger="schedule")
    assert GroupRun.objects.count() == 1
