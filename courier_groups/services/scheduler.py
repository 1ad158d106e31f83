"""The scheduler tick: start each active group whose cron time has come, exactly once.

The database decides "exactly once": every due (group, scheduled time) is INSERTed with
ON CONFLICT DO NOTHING against the unique constraint, so two schedulers (or a repeated
tick) cannot both start the same time; only the inserter gets the row back. After
downtime the latest missed time runs and the older ones are recorded as skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from croniter import croniter
from django.db import connection
from django.db.models import OuterRef, Subquery
from psycopg import sql

from ..models import CourierGroup, GroupRun, GroupRunCourier
from ..schedule import CronError, get_zone, latest_due, scheduled_times_between
from .runs import MISSED_MESSAGE, UNFINISHED, group_run_advance, member_status

logger = logging.getLogger(__name__)
MAX_SKIPPED_RECORDS = 100  # per group and tick: enough to show the outage, not a flood


@dataclass
class TickResult:
    started: list[int] = field(default_factory=list)  # group run ids this tick created
    skipped: list[int] = field(default_factory=list)  # missed times recorded as skipped
    advanced: int = 0  # unfinished runs moved along
    to_advance: list[int] = field(default_factory=list)  # runs with something to do now
    errors: list[str] = field(default_factory=list)


def scheduler_tick(*, now: datetime, advance: bool = True) -> TickResult:
    """Start what is due at ``now``; then advance the unfinished runs that have something
    to do (``advance=False`` only lists them in ``to_advance``: the Celery task fans them
    out to workers so that a busy minute does not hold up the tick)."""
    result = TickResult()
    rows = _due_rows(now, result)
    for run_id, status in _insert_runs(rows, now):
        (result.skipped if status == GroupRun.Status.SKIPPED else result.started).append(run_id)
    result.to_advance = runs_needing_advance(now)
    if advance:
        for run_id in result.to_advance:
            if advance_one(run_id, now, result):
                result.advanced += 1
    return result


def advance_one(run_id: int, now: datetime, result: TickResult | None = None) -> bool:
    run = GroupRun.objects.filter(pk=run_id).first()
    if run is None:
        return False
    try:
        group_run_advance(group_run=run, now=now)
    except Exception as exc:  # one broken run must not stop the others
        logger.exception("could not advance group run %s", run_id)
        if result is not None:
            result.errors.append(f"group run {run_id}: {exc}")
        return False
    return True


def runs_needing_advance(now: datetime) -> list[int]:
    """Unfinished runs whose state can move now, found in two queries (no per-run reads):
    not started yet, a courier not started, a courier run that changed, or overdue."""
    need: set[int] = set()
    runs = GroupRun.objects.filter(status__in=UNFINISHED).values_list(
        "pk", "status", "started_at", "slow_alerted", "group__alert_after_minutes"
    )
    for pk, status, started_at, alerted, alert_after in runs:
        if status != GroupRun.Status.RUNNING:
            need.add(pk)
        elif alert_after and not alerted and started_at:
            if now - started_at > timedelta(minutes=alert_after):
                need.add(pk)
    parts = (
        GroupRunCourier.objects.filter(group_run__status=GroupRun.Status.RUNNING)
        .exclude(status__in=GroupRunCourier.FINAL)
        .values_list(
            "group_run_id",
            "status",
            "courier_run_id",
            "courier_run__status",
            "courier_run__attempts",
            "courier_run__wait_until",
        )
    )
    running_runs = set()
    for run_id, status, courier_run_id, cr_status, attempts, wait_until in parts:
        running_runs.add(run_id)
        if courier_run_id is None:
            need.add(run_id)
            continue
        now_status = member_status(
            cr_status, attempts=attempts, wait_until=wait_until, error="", now=now
        )
        if now_status != status:
            need.add(run_id)
    # A running run with every courier finished only needs its final status.
    for pk, status, *_ in runs:
        if status == GroupRun.Status.RUNNING and pk not in running_runs:
            need.add(pk)
    return sorted(need)


def _due_rows(now: datetime, result: TickResult) -> list[tuple[int, datetime, str, str]]:
    """(group id, scheduled_for, status, message) to insert; one query for all groups."""
    last = (
        GroupRun.objects.filter(group=OuterRef("pk"), scheduled_for__isnull=False)
        .order_by("-scheduled_for")
        .values("scheduled_for")[:1]
    )
    groups = (
        CourierGroup.objects.filter(active=True)
        .annotate(last_scheduled=Subquery(last))
        .values_list(
            "pk", "name", "cron", "timezone", "schedule_since", "created_at", "last_scheduled"
        )
    )
    rows: list[tuple[int, datetime, str, str]] = []
    cache = _CronCache()
    for pk, name, cron, tz, since, created, last_scheduled in groups:
        baseline = max(t for t in (last_scheduled, since or created) if t is not None)
        try:
            zone = get_zone(tz)
            due = due_time(cron, zone, now, cache)
            if due is None or due <= baseline:
                continue
            missed = missed_times(cron, zone, after=baseline, before=due, cache=cache)
        except (CronError, ValueError) as exc:
            result.errors.append(f"{name}: {exc}")
            continue
        rows.extend((pk, t, GroupRun.Status.SKIPPED, MISSED_MESSAGE) for t in missed)
        rows.append((pk, due, GroupRun.Status.QUEUED, ""))
    return rows


def _insert_runs(rows, now: datetime) -> list[tuple[int, str]]:
    if not rows:
        return []
    table = sql.Identifier(GroupRun._meta.db_table)
    query = sql.SQL(
        "INSERT INTO {table} (group_id, scheduled_for, status, message, trigger, started_by,"
        " mode, slow_alerted, created_at)"
        " SELECT g, t, s, m, 'schedule', '', '', false, %s"
        " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[]) AS r(g, t, s, m)"
        " ON CONFLICT (group_id, scheduled_for) DO NOTHING RETURNING id, status"
    ).format(table=table)
    rows = sorted(rows, key=lambda r: (r[0], r[1]))  # older first: the due run gets the top id
    with connection.cursor() as cursor:
        cursor.execute(
            query.as_string(cursor.connection),
            [now, *(list(column) for column in zip(*rows, strict=True))],
        )
        return cursor.fetchall()


# ------------------------------------------------------------------ fast cron evaluation
# schedule.latest_due is exact around DST changes but walks a day of cron times; most of
# the year a zone's offset does not change, and then wall-clock times map one-to-one to
# instants, so one croniter step answers. Near a change we defer to schedule.py.
_STABLE_SPAN = timedelta(hours=28)


def _offset_stable(zone: tzinfo, start: datetime, end: datetime) -> bool:
    offset = start.astimezone(zone).utcoffset()
    t = start
    while t < end:
        t = min(t + timedelta(hours=3), end)
        if t.astimezone(zone).utcoffset() != offset:
            return False
    return True


def _floor_local(now: datetime, zone: tzinfo) -> datetime:
    return now.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)


class _CronCache:
    """Parsed expressions and per-zone stability, shared by one tick's groups (parsing a
    cron expression costs more than stepping it)."""

    def __init__(self) -> None:
        self.iterators: dict[str, croniter] = {}
        self.stable: dict[tuple[str, datetime], bool] = {}
        self.due: dict[tuple[str, str, datetime], datetime | None] = {}

    def prev(self, expr: str, start: datetime) -> datetime:
        it = self.iterators.get(expr)
        if it is None:
            it = self.iterators[expr] = croniter(expr, start)
        it.set_current(start, force=True)
        return it.get_prev(datetime)

    def offset_stable(self, zone: tzinfo, now: datetime) -> bool:
        key = (str(zone), now)
        if key not in self.stable:
            self.stable[key] = _offset_stable(zone, now - _STABLE_SPAN, now + timedelta(hours=1))
        return self.stable[key]


def due_time(
    expr: str, zone: tzinfo, now: datetime, cache: _CronCache | None = None
) -> datetime | None:
    """The latest scheduled time <= now (UTC), like schedule.latest_due, fast."""
    cache = cache or _CronCache()
    key = (expr, str(zone), now)
    if key not in cache.due:
        cache.due[key] = _due_time(expr, zone, now, cache)
    return cache.due[key]


def _due_time(expr: str, zone: tzinfo, now: datetime, cache: _CronCache) -> datetime | None:
    if cache.offset_stable(zone, now):
        wall = cache.prev(expr, _floor_local(now, zone) + timedelta(minutes=1))
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        if instant >= now - _STABLE_SPAN + timedelta(hours=1):
            return instant
    return latest_due(expr, zone, now)


def missed_times(
    expr: str,
    zone: tzinfo,
    *,
    after: datetime,
    before: datetime,
    cache: _CronCache | None = None,
) -> list[datetime]:
    """Scheduled times in (after, before), newest MAX_SKIPPED_RECORDS of them."""
    if before <= after:
        return []
    if _offset_stable(zone, after - timedelta(hours=3), before + timedelta(hours=1)):
        out: list[datetime] = []
        wall = before.astimezone(zone).replace(tzinfo=None)
        while len(out) < MAX_SKIPPED_RECORDS:
            wall = (cache or _CronCache()).prev(expr, wall)
            instant = wall.replace(tzinfo=zone).astimezone(UTC)
            if instant <= after:
                break
            out.append(instant)
        return out
    start = max(after, before - timedelta(days=2))  # DST-crossing outages: the recent ones
    times = scheduled_times_between(expr, zone, start, before - timedelta(microseconds=1))
    return times[-MAX_SKIPPED_RECORDS:]
