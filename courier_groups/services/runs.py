"""Group runs: start one, and move it along (constraints → courier runs → final status).

`group_run_advance` is the one place that moves a group run's status. The scheduler tick
calls it every minute for each unfinished run; a manual run calls it once to start.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from couriers.models import CourierRun
from couriers.services.runs import (
    CourierBusy,
    courier_run_start,
    courier_run_stop,
    duration_words,
)
from notifications.models import Notification
from notifications.services import notification_post, notification_status_post

from ..models import CourierGroup, GroupMember, GroupRun, GroupRunCourier
from ..schedule import get_zone, latest_due

UNFINISHED = (GroupRun.Status.QUEUED, GroupRun.Status.WAITING, GroupRun.Status.RUNNING)
MISSED_MESSAGE = "missed while the scheduler was down"
_MEMBER = GroupRunCourier.Status


class GroupRunExists(Exception):
    """A run for this group and scheduled time exists already (another tick took it)."""


# ------------------------------------------------------------------ start
def group_run_start(
    *,
    group: CourierGroup,
    scheduled_for: datetime | None = None,
    trigger: str = "manual",
    mode: str = CourierRun.Mode.DAY,
    start_date: date | None = None,
    end_date: date | None = None,
    started_by: str = "",
    now: datetime | None = None,
) -> GroupRun:
    """Record a group run and start its couriers.

    A scheduled run (``scheduled_for`` set) is created at most once per time: the unique
    (group, scheduled_for) constraint decides, and a loser gets :class:`GroupRunExists`.
    A manual run loads a day, a period (end exclusive) or all data.
    """
    now = now or timezone.now()
    run = GroupRun(group=group, scheduled_for=scheduled_for, trigger=trigger, started_by=started_by)
    if scheduled_for is None:
        run.mode = mode
        if mode == CourierRun.Mode.DAY:
            if start_date is None:
                raise ValueError("Choose the day to load.")
            start_date, end_date = start_date, start_date + timedelta(days=1)
        elif mode == CourierRun.Mode.PERIOD:
            if start_date is None or end_date is None or end_date <= start_date:
                raise ValueError("A time period needs a start date before its (exclusive) end.")
        else:
            start_date = end_date = None
        run.start_date, run.end_date = start_date, end_date
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        raise GroupRunExists(f"{group.name} already has a run for {scheduled_for}") from None
    return group_run_advance(group_run=run, now=now)


def member_dates(
    *, group: CourierGroup, member: GroupMember, group_run: GroupRun
) -> tuple[str, date | None, date | None]:
    """(mode, start_date, end_date exclusive) a member's courier run loads.

    Scheduled run: the days whose date stamp lies within ``offset`` before the scheduled
    time, read in the group's time zone when "use this time zone for file date ranges" is
    on (else UTC): 08:30 with a 24 h offset accepts yesterday's and today's files, with a
    1 h offset only today's. Manual run: the asked-for dates, started earlier by the whole
    days of the offset (an offset applies whether or not the group runs on a schedule).
    """
    offset = timedelta(minutes=member.offset_minutes)
    if group_run.scheduled_for is None:
        if group_run.mode == CourierRun.Mode.ALL or group_run.start_date is None:
            return CourierRun.Mode.ALL, None, None
        start = group_run.start_date - timedelta(days=offset // timedelta(days=1))
        return CourierRun.Mode.PERIOD, start, group_run.end_date
    zone = get_zone(group.timezone) if group.use_timezone_for_dates else get_zone("UTC")
    local = group_run.scheduled_for.astimezone(zone)
    return CourierRun.Mode.PERIOD, (local - offset).date(), local.date() + timedelta(days=1)


def member_wait_until(
    *, member: GroupMember, group_run: GroupRun, now: datetime
) -> datetime | None:
    if not member.wait_minutes:
        return None
    base = group_run.scheduled_for or now
    return base + timedelta(minutes=member.wait_minutes)


# ------------------------------------------------------------------ advance
def group_run_advance(*, group_run: GroupRun, now: datetime) -> GroupRun:
    """Move a run as far as it can go now. Safe to call from two schedulers at once:
    the run's row is locked, and a run another process is advancing is left alone."""
    with transaction.atomic():
        run = (
            GroupRun.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("group")
            .filter(pk=group_run.pk, status__in=UNFINISHED)
            .first()
        )
        if run is None:
            group_run.refresh_from_db()
            return group_run
        if run.status in (GroupRun.Status.QUEUED, GroupRun.Status.WAITING):
            if not _constraints_met(run, now):
                return run
            _start(run, now)
        _start_pending(run, now)
        _track(run, now)
        _alert_if_slow(run, now)
    return run


def _constraints_met(run: GroupRun, now: datetime) -> bool:
    """Scheduled runs wait for required groups to succeed for the same schedule window."""
    if run.scheduled_for is None:
        return True  # a manual run is the user's explicit request
    group = run.group
    required = [c.requires for c in group.constraints.select_related("requires")]
    if not required:
        return True
    previous = latest_due(group.cron, group.timezone, run.scheduled_for - timedelta(microseconds=1))
    waiting_on = []
    for other in required:
        window = other.runs.filter(scheduled_for__lte=run.scheduled_for)
        if previous is not None:
            window = window.filter(scheduled_for__gt=previous)
        latest = window.exclude(status=GroupRun.Status.SKIPPED).order_by("-scheduled_for").first()
        if latest is None or latest.status != GroupRun.Status.SUCCEEDED:
            if latest is not None and latest.status == GroupRun.Status.FAILED:
                _finish(
                    run,
                    GroupRun.Status.FAILED,
                    f'Not started: the required courier group "{other.name}" failed for this '
                    "schedule window.",
                    now,
                )
                return False
            waiting_on.append(other.name)
    if not waiting_on:
        return True
    newer = group.runs.filter(scheduled_for__gt=run.scheduled_for).exists()
    if newer:  # the next scheduled time has come: this window's chance is gone
        _finish(
            run,
            GroupRun.Status.FAILED,
            "Not started: "
            + _names(waiting_on)
            + " did not succeed before the next scheduled time.",
            now,
        )
        return False
    run.status = GroupRun.Status.WAITING
    run.message = "Waiting for " + _names(waiting_on) + " to succeed for this schedule window."
    run.save(update_fields=["status", "message"])
    return False


def _names(names: list[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _start(run: GroupRun, now: datetime) -> None:
    members = list(run.group.members.select_related("courier"))
    GroupRunCourier.objects.bulk_create(
        GroupRunCourier(group_run=run, member=m, courier=m.courier) for m in members
    )
    run.status = GroupRun.Status.RUNNING
    run.started_at = now
    run.message = "" if members else "This group has no couriers."
    run.save(update_fields=["status", "started_at", "message"])
    _notify(
        run,
        Notification.Level.RUNNING,
        f"Running {len(members)} courier{'s' * (len(members) != 1)}.",
    )


def _start_pending(run: GroupRun, now: datetime) -> None:
    """Start every member not started yet, all at once (they are independent)."""
    pending = run.couriers.filter(status=_MEMBER.QUEUED, courier_run__isnull=True).select_related(
        "member", "courier"
    )
    for part in pending:
        member = part.member
        if member is None:  # removed from the group since the run began
            part.status, part.message = _MEMBER.SKIPPED, "Removed from the group."
            part.save(update_fields=["status", "message"])
            continue
        mode, start, end = member_dates(group=run.group, member=member, group_run=run)
        wait_until = member_wait_until(member=member, group_run=run, now=now)
        try:
            courier_run = courier_run_start(
                courier=part.courier,
                mode=mode,
                start_date=start,
                end_date=end,
                started_by=f"courier group {run.group.name}",
                wait_until=wait_until,
                any_day=True,  # the offset: a file dated on any day of the window will do
            )
        except CourierBusy as busy:
            part.message = f"Waiting for the courier to be free: {busy}"
            part.save(update_fields=["message"])
            continue
        part.courier_run = courier_run
        part.status = _MEMBER.RUNNING
        part.waiting_until = wait_until
        part.message = ""
        part.save(update_fields=["courier_run", "status", "waiting_until", "message"])


def member_status(
    status: str, *, attempts: int, wait_until: datetime | None, error: str, now: datetime
) -> str:
    """A member's state from its courier run's."""
    if status == CourierRun.Status.SUCCEEDED:
        return _MEMBER.SUCCEEDED
    if status == CourierRun.Status.STOPPED:
        return _MEMBER.STOPPED
    if status == CourierRun.Status.FAILED:
        return _MEMBER.MISSING if error.startswith("Missing required") else _MEMBER.FAILED
    # The pipeline puts a run that waits for late files back in the queue after trying.
    waiting = status == CourierRun.Status.QUEUED and attempts > 0
    if waiting and wait_until and now < wait_until:
        return _MEMBER.WAITING
    return _MEMBER.RUNNING


def _track(run: GroupRun, now: datetime) -> None:
    parts = list(run.couriers.select_related("courier_run", "member", "courier"))
    for part in parts:
        if part.status in GroupRunCourier.FINAL or part.courier_run is None:
            continue
        cr = part.courier_run
        status = member_status(
            cr.status, attempts=cr.attempts, wait_until=cr.wait_until, error=cr.error, now=now
        )
        if status == part.status:
            continue
        part.status = status
        part.message = part.courier_run.error if status in GroupRunCourier.FINAL else ""
        part.save(update_fields=["status", "message"])
        if status == _MEMBER.MISSING:
            _missing(run, part)
    stopper = next(
        (
            p
            for p in parts
            if p.status == _MEMBER.MISSING and p.member and p.member.stop_when_missing
        ),
        None,
    )
    if stopper is not None:
        _stop_others(run, parts, stopper)
        _finish(
            run,
            GroupRun.Status.FAILED,
            f"Stopped: {stopper.courier.name} is missing files. {stopper.message}",
            now,
        )
        return
    if any(p.status not in GroupRunCourier.FINAL for p in parts):
        return
    bad = [p for p in parts if p.status in (_MEMBER.FAILED, _MEMBER.STOPPED)]
    missing = [p for p in parts if p.status == _MEMBER.MISSING]
    if bad:
        lines = [f"{p.courier.name}: {p.get_status_display().lower()}. {p.message}" for p in bad]
        _finish(run, GroupRun.Status.FAILED, "\n".join(lines), now)
    else:
        note = "".join(f"\n{p.courier.name} is missing files: {p.message}" for p in missing)
        _finish(run, GroupRun.Status.SUCCEEDED, note.strip(), now, warning=bool(missing))


def _missing(run: GroupRun, part: GroupRunCourier) -> None:
    member = part.member
    if member is None or not member.notify_when_missing:
        return
    level = Notification.Level.ERROR if member.stop_when_missing else Notification.Level.WARNING
    notification_post(
        level=level,
        title=f"Courier group {run.group.name}: {part.courier.name} is missing files",
        message=part.message,
        url=reverse("courier_groups:run_detail", args=[run.pk]),
        subject=f"group-run:{run.pk}:missing:{part.courier_id}",
    )


def _stop_others(run: GroupRun, parts: list[GroupRunCourier], stopper: GroupRunCourier) -> None:
    for part in parts:
        if part.status in GroupRunCourier.FINAL:
            continue
        if part.courier_run is not None:
            courier_run_stop(run=part.courier_run)
        part.status = _MEMBER.STOPPED if part.courier_run else _MEMBER.SKIPPED
        part.message = f"Stopped because {stopper.courier.name} is missing files."
        part.save(update_fields=["status", "message"])


def _alert_if_slow(run: GroupRun, now: datetime) -> None:
    limit = run.group.alert_after_minutes
    if not limit or run.started_at is None or run.slow_alerted:
        return
    end = run.finished_at or now
    if end - run.started_at <= timedelta(minutes=limit):
        return
    # Whoever flips the flag posts the Warning: once, even with two schedulers.
    if GroupRun.objects.filter(pk=run.pk, slow_alerted=False).update(slow_alerted=True):
        run.slow_alerted = True
        notification_post(
            level=Notification.Level.WARNING,
            title=f"Courier group {run.group.name} is running long",
            message=(
                f"Running for {duration_words(end - run.started_at)}; the alert threshold is "
                f"{_minutes_words(limit)}."
            ),
            url=reverse("courier_groups:run_detail", args=[run.pk]),
            subject=f"group-run:{run.pk}:slow",
        )


def _minutes_words(minutes: int) -> str:
    return duration_words(timedelta(minutes=minutes)).replace(" 0 seconds", "")


def _finish(run: GroupRun, status: str, message: str, now: datetime, *, warning: bool = False):
    run.status = status
    run.message = message
    run.finished_at = now
    run.save(update_fields=["status", "message", "finished_at"])
    if status == GroupRun.Status.SUCCEEDED:
        took = duration_words(now - (run.started_at or run.created_at))
        level = Notification.Level.WARNING if warning else Notification.Level.COMPLETED
        _notify(run, level, f"Completed in {took}" + (f"\n{message}" if message else ""))
    else:
        _notify(run, Notification.Level.ERROR, message)


def _notify(run: GroupRun, level: str, message: str) -> None:
    notification_status_post(
        what=f"Courier group {run.group.name}",
        level=level,
        message=message,
        url=reverse("courier_groups:run_detail", args=[run.pk]),
        subject=f"group-run:{run.pk}",
    )
