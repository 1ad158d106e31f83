"""Waits against the real pipeline: a real Celery worker, real S3 over HTTP, real Postgres."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from courier_groups.services.groups import MemberSpec
from courier_groups.services.runs import group_run_start
from courier_groups.services.scheduler import scheduler_tick
from couriers.models import RunEvent
from notifications.models import Notification
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def tick_until(run, statuses, timeout=150):
    def done():
        scheduler_tick(now=timezone.now())
        run.refresh_from_db()
        return run.status in statuses

    wait_until(done, timeout=timeout, interval=1, message=f"group run stayed {run.status}")


def test_a_late_file_is_loaded_and_a_file_that_never_comes_fails_the_group(
    celery_worker, s3, bucket, make_courier, make_group
):
    now = timezone.now()
    scheduled = now.replace(second=0, microsecond=0)
    key = f"users-{scheduled:%Y-%m-%d}.csv"
    late = make_courier("Late", pattern="'late/users-'yyyy-MM-dd'.csv'")
    never = make_courier("Never", pattern="'never/users-'yyyy-MM-dd'.csv'")
    waits = make_group(
        name="Waits",
        active=False,  # started by hand below for a scheduled time; the tick only advances it
        couriers=[MemberSpec(courier=late, wait_minutes=3)],
    )
    gives_up = make_group(
        name="Gives up",
        active=False,
        couriers=[
            MemberSpec(courier=never, wait_minutes=1, stop_when_missing=True),
        ],
    )
    ok = group_run_start(group=waits, scheduled_for=scheduled, trigger="schedule", now=now)
    bad = group_run_start(group=gives_up, scheduled_for=scheduled, trigger="schedule", now=now)

    # Both couriers look, find nothing, and wait.
    def waiting(courier):
        return RunEvent.objects.filter(
            run__courier=courier, message__startswith="Waiting for source data until"
        ).exists()

    wait_until(lambda: waiting(late) and waiting(never), timeout=60)
    scheduler_tick(now=timezone.now())
    part = ok.couriers.get()
    assert part.status == "waiting"
    # The file arrives during the wait.
    s3.put_object(Bucket=bucket, Key=f"late/{key}", Body=b"user_id,email\n1,a@example.com\n")

    tick_until(ok, {"succeeded", "failed"})
    tick_until(bad, {"succeeded", "failed"})
    assert ok.status == "succeeded", ok.message
    assert late.landed_files.filter(key=f"late/{key}").exists()
    assert bad.status == "failed"
    assert "Never is missing files" in bad.message and scheduled.strftime("%Y-%m-%d") in bad.message
    error = Notification.objects.get(subject=f"group-run:{bad.pk}:missing:{never.pk}")
    assert error.level == "error"
    assert timezone.now() - now < timedelta(minutes=4)


def test_a_file_that_never_comes_only_warns_when_the_member_does_not_stop_the_group(
    celery_worker, make_courier, make_group
):
    now = timezone.now()
    courier = make_courier("Optional-ish", pattern="'warn/users-'yyyy-MM-dd'.csv'")
    group = make_group(
        name="Warns",
        active=False,
        couriers=[MemberSpec(courier=courier, notify_when_missing=True)],
    )
    run = group_run_start(group=group, scheduled_for=now.replace(second=0, microsecond=0),
                          trigger="schedule", now=now)  # fmt: skip
    tick_until(run, {"succeeded", "failed"}, timeout=60)
    assert run.status == "succeeded"  # the group goes on; the user is warned
    warning = Notification.objects.get(subject=f"group-run:{run.pk}:missing:{courier.pk}")
    assert warning.level == "warning" and "warn/users-" in warning.message


def test_a_file_stamped_the_previous_day_is_accepted_at_24_hours_refused_at_1_hour(
    celery_worker, s3, bucket, make_courier, make_group
):
    # A fixed noon, far from midnight: an hour before it is still the same day, whatever the
    # clock says (scheduled at 00:30, a 1 h offset would reach back into the day before).
    scheduled = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    yesterday = "2026-03-09"
    day = make_courier("Day offset", pattern="'a/users-'yyyy-MM-dd'.csv'")
    hour = make_courier("Hour offset", pattern="'b/users-'yyyy-MM-dd'.csv'")
    for prefix in ("a", "b"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/users-{yesterday}.csv", Body=b"id\n1\n")
    day_group = make_group(
        name="24 h", active=False, couriers=[MemberSpec(courier=day, offset_minutes=24 * 60)]
    )
    hour_group = make_group(
        name="1 h", active=False, couriers=[MemberSpec(courier=hour, offset_minutes=60)]
    )
    accepted = group_run_start(group=day_group, scheduled_for=scheduled, trigger="schedule")
    refused = group_run_start(group=hour_group, scheduled_for=scheduled, trigger="schedule")
    tick_until(accepted, {"succeeded", "failed"}, timeout=60)
    tick_until(refused, {"succeeded", "failed"}, timeout=60)
    assert day.landed_files.filter(key=f"a/users-{yesterday}.csv").exists()
    assert day.runs.get().status == "succeeded", day.runs.get().error
    assert accepted.status == "succeeded" and not accepted.message, accepted.message
    assert not hour.landed_files.exists()
    assert hour.runs.get().status == "failed"  # nothing stamped within 1 h of the schedule
