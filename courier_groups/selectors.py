"""Reads for the Sources page, the group page and the group run page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import CourierGroup, GroupRun, GroupRunCourier
from .schedule import CronError, get_zone, next_times


def groups_for_sources_page():
    return CourierGroup.objects.prefetch_related("members__courier")


def group_next_times(
    group: CourierGroup, n: int = 5, now: datetime | None = None
) -> list[datetime]:
    try:
        return next_times(group.cron, group.timezone, now or timezone.now(), n)
    except (CronError, ValueError):
        return []


def group_run_history(group: CourierGroup, limit: int = 50) -> list[GroupRun]:
    return list(
        group.runs.annotate(
            courier_count=Count("couriers"),
            succeeded_count=Count("couriers", filter=Q(couriers__status="succeeded")),
        ).order_by("-created_at", "-id")[:limit]
    )


def group_run_parts(run: GroupRun) -> list[GroupRunCourier]:
    return list(run.couriers.select_related("courier", "courier_run", "member"))


# ------------------------------------------------------------------ timeline chart
STATUS_COLOURS = {
    "succeeded": "#198754",
    "failed": "#dc3545",
    "skipped": "#adb5bd",
    "running": "#0d6efd",
    "waiting": "#fd7e14",
    "queued": "#6c757d",
}


@dataclass
class Bar:
    run: GroupRun
    x: float
    y: float
    width: float
    colour: str
    label: str


@dataclass
class Timeline:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]


def group_timeline(runs: list[GroupRun], zone_name: str, now: datetime | None = None) -> Timeline:
    """Server-side geometry for an SVG: one row per run (newest on top), x = time."""
    now = now or timezone.now()
    zone = get_zone(zone_name)
    width, left, row = 720, 8, 16
    spans = []
    for run in runs:
        start = run.started_at or run.scheduled_for or run.created_at
        end = run.finished_at or (now if run.status in ("running", "waiting", "queued") else start)
        spans.append((run, start, max(end, start)))
    if not spans:
        return Timeline(width, 0, [], [])
    t0 = min(s for _, s, _ in spans)
    t1 = max(e for _, _, e in spans)
    total = max((t1 - t0).total_seconds(), 60.0)
    scale = (width - 2 * left) / total
    bars = []
    for i, (run, start, end) in enumerate(spans):
        x = left + (start - t0).total_seconds() * scale
        w = max((end - start).total_seconds() * scale, 3.0)
        when = timezone.localtime(start, zone).strftime("%Y-%m-%d %H:%M %Z")
        took = end - start
        label = f"Run {run.pk} · {run.get_status_display()} · {when}"
        if run.status != "skipped":
            label += f" · {int(took.total_seconds() // 60)} min {int(took.total_seconds() % 60)} s"
        bars.append(Bar(run, x, 4 + i * row, w, STATUS_COLOURS.get(run.status, "#6c757d"), label))
    height = 4 + len(spans) * row + 18
    ticks = []
    for k in range(5):
        t = t0 + timedelta(seconds=total * k / 4)
        ticks.append(
            (left + total * k / 4 * scale, timezone.localtime(t, zone).strftime("%m-%d %H:%M"))
        )
    return Timeline(width, height, bars, ticks)
