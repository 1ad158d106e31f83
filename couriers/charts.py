"""Run history as a small server-rendered SVG chart (no chart library, no network)."""

from dataclasses import dataclass

from .models import CourierRun

STATUS_COLOURS = {
    CourierRun.Status.SUCCEEDED: "#198754",
    CourierRun.Status.FAILED: "#dc3545",
    CourierRun.Status.STOPPED: "#ffc107",
}


@dataclass
class Bar:
    x: float
    width: float
    y: float
    rows_height: float
    duration_y: float
    colour: str
    title: str


def run_history_chart(runs: list[CourierRun], width: int = 720, height: int = 160) -> dict:
    """Bars of rows loaded per run (oldest left) with a line of durations over them."""
    finished = [r for r in reversed(runs) if r.finished_at and r.started_at][-40:]
    if not finished:
        return {}
    rows = [sum(load.rows_read for load in r.loads.all()) for r in finished]
    durations = [(r.finished_at - r.started_at).total_seconds() for r in finished]
    max_rows, max_duration = max(rows) or 1, max(durations) or 1
    slot = width / len(finished)
    bars = [
        Bar(
            x=i * slot + slot * 0.15,
            width=slot * 0.7,
            y=height - (height - 20) * n / max_rows,
            rows_height=(height - 20) * n / max_rows,
            duration_y=height - (height - 20) * d / max_duration,
            colour=STATUS_COLOURS.get(r.status, "#6c757d"),
            title=f"Run {r.pk} {r.started_at:%Y-%m-%d %H:%M}: {r.get_status_display()}, "
            f"{n:,} rows, {d:.0f} s",
        )
        for i, (r, n, d) in enumerate(zip(finished, rows, durations, strict=True))
    ]
    points = " ".join(f"{b.x + b.width / 2:.1f},{b.duration_y:.1f}" for b in bars)
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "points": points,
        "max_rows": max_rows,
        "max_duration": max_duration,
    }
