"""Cron schedules for courier groups.

A schedule is a standard 5-field cron expression (minute hour day-of-month month
day-of-week) read in the group's time zone.  When both day-of-month and day-of-week are
restricted a day matches if *either* does (classic cron).  Day-of-week 0 and 7 are Sunday;
month and day names (``jan``, ``mon-fri``) are accepted.

Daylight saving time (the schedule is a list of *local wall-clock* times):

* a local time that does not exist (02:30 on the spring-forward day in
  America/Los_Angeles) runs once that day, at the first valid minute after the gap
  (03:00 local).  Several skipped times collapse into that one run;
* a local time that occurs twice (01:30 on the fall-back day) runs once, at its first
  occurrence (PDT).  Consequently a schedule such as ``*/15 * * * *`` does not run again
  during the repeated hour.

croniter is used only to step through wall-clock times on *naive* datetimes; mapping those
to real instants is done here (croniter's own time-zone handling runs the repeated time
twice).  All functions take and return aware datetimes.

The plain-words reading of a schedule comes from cron-descriptor, after our own validation.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import (
    ExpressionDescriptor,
    FormatError,
    MissingFieldError,
    Options,
    WrongArgumentError,
)
from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

__all__ = [
    "CronError",
    "validate_cron",
    "parse_cron",
    "describe_cron",
    "next_times",
    "scheduled_times_between",
    "latest_due",
    "window_for",
    "get_zone",
]


class CronError(ValueError):
    """A cron expression (or time zone) that cannot be used; the message says why."""


@dataclass(frozen=True)
class _FieldSpec:
    name: str
    low: int
    high: int
    names: dict[str, int]


_MONTH_NAMES = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DOW_NAMES = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}

_FIELDS = (
    _FieldSpec("minute", 0, 59, {}),
    _FieldSpec("hour", 0, 23, {}),
    _FieldSpec("day-of-month", 1, 31, {}),
    _FieldSpec("month", 1, 12, _MONTH_NAMES),
    _FieldSpec("day-of-week", 0, 7, _DOW_NAMES),
)

_ITEM_RE = re.compile(r"^(?P<base>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[^/]*))?$")

_FORMAT_HINT = "use 5 fields: minute hour day-of-month month day-of-week, e.g. '30 8 * * *'"


@dataclass(frozen=True)
class CronField:
    """One parsed field: its text and the set of values it allows."""

    name: str
    text: str
    values: frozenset[int]


def _value(spec: _FieldSpec, field_text: str, token: str) -> int:
    low = token.lower()
    if low in spec.names:
        return spec.names[low]
    if not token.isdigit():
        if spec.names:
            allowed = ", ".join(spec.names)
            raise CronError(
                f'{spec.name} field "{field_text}": "{token}" is not a number or a name ({allowed})'
            )
        raise CronError(f'{spec.name} field "{field_text}": "{token}" is not a number')
    n = int(token)
    if not spec.low <= n <= spec.high:
        if field_text == token:
            raise CronError(
                f'{spec.name} field "{field_text}" is out of range {spec.low}-{spec.high}'
            )
        raise CronError(
            f'{spec.name} field "{field_text}": {token} is out of range {spec.low}-{spec.high}'
        )
    return n


def _parse_field(spec: _FieldSpec, text: str) -> CronField:
    values: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronError(f'{spec.name} field "{text}": empty item in the list')
        m = _ITEM_RE.match(item)
        letters_not_allowed = not spec.names and m and re.search(r"[A-Za-z]", m.group("base"))
        if not m or letters_not_allowed:
            raise CronError(
                f'{spec.name} field "{text}" is not understood: use numbers, ranges (1-5), '
                "lists (1,15), steps (*/15)" + (" or names (mon, jan)" if spec.names else "")
            )
        base, step_text = m.group("base"), m.group("step")
        step = 1
        if step_text is not None:
            if not step_text.isdigit() or int(step_text) < 1:
                raise CronError(
                    f'{spec.name} field "{text}": step "{step_text}" must be a whole number 1 or more'
                )
            step = int(step_text)
        if base == "*":
            lo, hi = spec.low, spec.high
        elif "-" in base:
            a, b = base.split("-", 1)
            lo, hi = _value(spec, text, a), _value(spec, text, b)
            if lo > hi:
                raise CronError(f'{spec.name} field "{text}": range {base} runs backwards')
        else:
            lo = _value(spec, text, base)
            hi = spec.high if step_text is not None else lo
        values.update(range(lo, hi + 1, step))
    if spec.name == "day-of-week" and 7 in values:
        values.discard(7)
        values.add(0)
    return CronField(spec.name, text, frozenset(values))


def parse_cron(expr: str) -> tuple[CronField, ...]:
    """Parse a 5-field expression; raise :class:`CronError` with a message a user can act on."""
    if not isinstance(expr, str) or not expr.strip():
        raise CronError(f"the schedule is empty: {_FORMAT_HINT}")
    parts = expr.split()
    if parts[0].startswith("@"):
        raise CronError(f'shortcuts like "{parts[0]}" are not supported: {_FORMAT_HINT}')
    if len(parts) != 5:
        raise CronError(f"expected 5 fields, got {len(parts)}: {_FORMAT_HINT}")
    fields = tuple(_parse_field(spec, text) for spec, text in zip(_FIELDS, parts, strict=True))
    # Let croniter confirm it agrees, and that the schedule ever fires.
    try:
        croniter(" ".join(parts), datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise CronError(
            "this schedule never runs: no month in the month field has that day of the month"
        ) from exc
    except (CroniterBadCronError, CroniterError, ValueError) as exc:
        raise CronError(f"not a valid cron expression: {exc}") from exc
    return fields


def validate_cron(expr: str) -> str | None:
    """None if ``expr`` is a valid 5-field cron expression, else a message for the user."""
    try:
        parse_cron(expr)
    except CronError as exc:
        return str(exc)
    return None


# -- description ---------------------------------------------------------------------------

_READING = Options()
_READING.use_24hour_time_format = True  # times read as the schedule writes them: 08:30, 18:00


def describe_cron(expr: str) -> str:
    """The schedule in plain words (cron-descriptor): '0 6 * * 1-5' -> 'At 06:00, Monday through
    Friday'. An invalid expression is described by its error message."""
    try:
        parse_cron(expr)  # our checks and messages first: the reader is more lenient
    except CronError as exc:
        return f"Invalid schedule: {exc}"
    try:
        return ExpressionDescriptor(" ".join(expr.split()), _READING).get_description()
    except (FormatError, MissingFieldError, WrongArgumentError):
        return f"Runs on the schedule {' '.join(expr.split())}"


# -- times ---------------------------------------------------------------------------------


def get_zone(tz: str | tzinfo) -> tzinfo:
    """A tzinfo for an IANA name ('America/Los_Angeles'); raise CronError if unknown."""
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CronError(f'unknown time zone "{tz}"') from exc


def _require_aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime")


def _exists(naive: datetime, zone: tzinfo) -> bool:
    back = naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return back == naive


def _to_instant(naive: datetime, zone: tzinfo) -> datetime:
    """The UTC instant a scheduled wall-clock time runs at (see module docstring)."""
    t = naive
    for _ in range(48 * 60):  # a gap is never longer than a day
        if _exists(t, zone):
            return t.replace(tzinfo=zone, fold=0).astimezone(UTC)
        t = t.replace(second=0, microsecond=0) + timedelta(minutes=1)
    raise CronError(f"cannot place {naive:%Y-%m-%d %H:%M} in time zone {zone}")  # pragma: no cover


_SLACK = timedelta(hours=26)  # wider than any UTC-offset change


def _iter_after(expr: str, zone: tzinfo, after: datetime) -> Iterator[datetime]:
    """Scheduled instants (UTC) strictly after ``after``, increasing, each once."""
    parse_cron(expr)
    start_local = after.astimezone(zone).replace(tzinfo=None) - _SLACK
    it = croniter(" ".join(expr.split()), start_local)
    last: datetime | None = None
    while True:
        try:
            naive = it.get_next(datetime)
        except CroniterBadDateError:
            return
        inst = _to_instant(naive, zone)
        if inst <= after or (last is not None and inst <= last):
            continue
        last = inst
        yield inst


def next_times(expr: str, tz: str | tzinfo, after: datetime, n: int = 5) -> list[datetime]:
    """The next ``n`` scheduled times strictly after ``after``, as aware datetimes in ``tz``."""
    _require_aware(after, "after")
    zone = get_zone(tz)
    out: list[datetime] = []
    if n <= 0:
        return out
    for inst in _iter_after(expr, zone, after):
        out.append(inst.astimezone(zone))
        if len(out) >= n:
            break
    return out


def scheduled_times_between(
    expr: str, tz: str | tzinfo, start: datetime, end: datetime, limit: int | None = None
) -> list[datetime]:
    """Scheduled times in ``(start, end]`` as aware UTC datetimes (at most ``limit``)."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    zone = get_zone(tz)
    out: list[datetime] = []
    if end <= start:
        return out
    for inst in _iter_after(expr, zone, start):
        if inst > end:
            break
        out.append(inst)
        if limit is not None and len(out) >= limit:
            break
    return out


def latest_due(expr: str, tz: str | tzinfo, now: datetime) -> datetime | None:
    """The most recent scheduled time ``<= now`` (aware UTC), or None if there is none."""
    _require_aware(now, "now")
    zone = get_zone(tz)
    parse_cron(expr)
    start_local = now.astimezone(zone).replace(tzinfo=None) + _SLACK
    it = croniter(" ".join(expr.split()), start_local)
    # Wall-clock -> instant is non-decreasing, so walking backwards the first instant
    # that is <= now is the latest one.
    for _ in range(1_000_000):
        try:
            naive = it.get_prev(datetime)
        except CroniterBadDateError:
            return None
        inst = _to_instant(naive, zone)
        if inst <= now:
            return inst
    return None  # pragma: no cover


def window_for(scheduled: datetime, offset: timedelta) -> tuple[datetime, datetime]:
    """The window of file date stamps a scheduled run accepts: ``(scheduled - offset,
    scheduled)``.  With a 24 h offset a 08:30 run accepts files stamped from 08:30 the day
    before up to the scheduled time."""
    _require_aware(scheduled, "scheduled")
    if offset < timedelta(0):
        raise ValueError("offset must not be negative")
    return scheduled - offset, scheduled
