"""Courier-group cron schedules: validation, description, next times, DST, latest_due."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from courier_groups.schedule import (
    CronError,
    describe_cron,
    get_zone,
    latest_due,
    next_times,
    parse_cron,
    scheduled_times_between,
    validate_cron,
    window_for,
)

LA = "America/Los_Angeles"
LAZ = ZoneInfo(LA)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def la(*args, fold=0):
    return datetime(*args, tzinfo=LAZ, fold=fold)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expr",
    [
        "30 8 * * *",
        "*/15 * * * *",
        "0 0 1 1 *",
        "0 9-17 * * 1-5",
        "0 0 * * 7",
        "0 0 * * sun",
        "0 0 * jan-mar mon-fri",
        "0,30 */2 1,15 * *",
        "5-55/10 * * * *",
        " 30  8 * * * ",
        "0 0 29 2 *",
        "0 0 31 * *",
    ],
)
def test_valid(expr):
    assert validate_cron(expr) is None


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("61 * * * *", 'minute field "61" is out of range 0-59'),
        ("5,61 * * * *", 'minute field "5,61": 61 is out of range 0-59'),
        ("0 24 * * *", 'hour field "24" is out of range 0-23'),
        ("0 0 0 * *", 'day-of-month field "0" is out of range 1-31'),
        ("0 0 32 * *", 'day-of-month field "32" is out of range 1-31'),
        ("0 0 * 13 *", 'month field "13" is out of range 1-12'),
        ("0 0 * * 8", 'day-of-week field "8" is out of range 0-7'),
        ("0 0 * * 1-9", 'day-of-week field "1-9": 9 is out of range 0-7'),
        ("0 22-2 * * *", 'hour field "22-2": range 22-2 runs backwards'),
        ("*/0 * * * *", 'minute field "*/0": step "0" must be a whole number 1 or more'),
        ("*/x * * * *", 'minute field "*/x": step "x" must be a whole number 1 or more'),
        ("1,,2 * * * *", 'minute field "1,,2": empty item in the list'),
        (
            "x * * * *",
            'minute field "x" is not understood: use numbers, ranges (1-5), lists (1,15), '
            "steps (*/15)",
        ),
        (
            "0 0 * * 1-funday",
            'day-of-week field "1-funday": "funday" is not a number or a name '
            "(sun, mon, tue, wed, thu, fri, sat)",
        ),
        (
            "0 0 * foo *",
            'month field "foo": "foo" is not a number or a name '
            "(jan, feb, mar, apr, may, jun, jul, aug, sep, oct, nov, dec)",
        ),
        (
            "0 0 31 2 *",
            "this schedule never runs: no month in the month field has that day of the month",
        ),
    ],
)
def test_invalid_messages(expr, message):
    assert validate_cron(expr) == message


@pytest.mark.parametrize(("expr", "count"), [("* * * *", 4), ("0 0 * * * *", 6), ("0", 1)])
def test_exactly_five_fields(expr, count):
    assert validate_cron(expr) == (
        f"expected 5 fields, got {count}: use 5 fields: minute hour day-of-month month "
        "day-of-week, e.g. '30 8 * * *'"
    )


@pytest.mark.parametrize("expr", ["", "   ", None])
def test_empty(expr):
    assert validate_cron(expr).startswith("the schedule is empty: use 5 fields")


def test_shortcuts_rejected():
    assert validate_cron("@daily").startswith('shortcuts like "@daily" are not supported')


@pytest.mark.parametrize("expr", ["0 0 L * *", "0 0 * * 1#2", "0 0 ? * *", "0 0 15W * *"])
def test_extensions_rejected(expr):
    assert "is not understood" in validate_cron(expr)


def test_parse_cron_raises_cron_error():
    with pytest.raises(CronError):
        parse_cron("61 * * * *")
    assert issubclass(CronError, ValueError)


def test_sunday_as_7():
    *_, dow = parse_cron("0 0 * * 7")
    assert dow.values == frozenset({0})


# -- description --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("30 8 * * *", "At 08:30"),
        ("30 8 * * 0", "At 08:30, only on Sunday"),
        ("30 8 * * 7", "At 08:30, only on Sunday"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("* * * * *", "Every minute"),
        ("0 * * * *", "Every hour"),
        ("15 * * * *", "At 15 minutes past the hour"),
        ("0 */2 * * *", "Every 2 hours"),
        ("15 */6 * * *", "At 15 minutes past the hour, every 6 hours"),
        ("0 6,18 * * *", "At 06:00 and 18:00"),
        ("0 6 * * 1-5", "At 06:00, Monday through Friday"),
        ("0 6 * * mon-fri", "At 06:00, Monday through Friday"),
        ("0 10 * * 6,0", "At 10:00, only on Saturday and Sunday"),
        ("0 10 * * 1,3,5", "At 10:00, only on Monday, Wednesday, and Friday"),
        ("0 0 1 * *", "At 00:00, on day 1 of the month"),
        ("0 0 1,15 * *", "At 00:00, on day 1 and 15 of the month"),
        ("0 0 1 1 *", "At 00:00, on day 1 of the month, only in January"),
        ("0 0 * 1,7 *", "At 00:00, only in January and July"),
        ("0 0 1 * 1", "At 00:00, on day 1 of the month, or on Monday"),
        (
            "0 9-17 * * 1-5",
            "At 0 minutes past the hour, between 09:00 and 17:59, Monday through Friday",
        ),
        ("*/10 9-17 * * *", "Every 10 minutes, between 09:00 and 17:59"),
        ("0-10 * * * *", "Minutes 0 through 10 past the hour"),
    ],
)
def test_describe(expr, words):
    assert describe_cron(expr) == words


def test_describe_invalid():
    assert describe_cron("61 * * * *") == 'Invalid schedule: minute field "61" is out of range 0-59'


# -- next times ---------------------------------------------------------------------------


def test_next_times_in_zone():
    times = next_times("30 8 * * *", LA, utc(2024, 6, 1, 12), n=3)
    assert times == [la(2024, 6, 1, 8, 30) + timedelta(days=i) for i in (0, 1, 2)]
    assert all(t.tzinfo == LAZ for t in times)
    assert times[0].astimezone(UTC) == utc(2024, 6, 1, 15, 30)


def test_next_times_is_strictly_after():
    after = la(2024, 6, 1, 8, 30)
    assert next_times("30 8 * * *", LA, after, n=1) == [la(2024, 6, 2, 8, 30)]


def test_next_times_default_five_and_zero():
    assert len(next_times("*/15 * * * *", "UTC", utc(2024, 1, 1))) == 5
    assert next_times("*/15 * * * *", "UTC", utc(2024, 1, 1), n=0) == []


def test_next_times_weekday():
    # 2024-06-01 is a Saturday.
    assert next_times("0 9 * * 1", LA, utc(2024, 6, 1), n=2) == [
        la(2024, 6, 3, 9),
        la(2024, 6, 10, 9),
    ]


def test_next_times_needs_aware_datetime():
    with pytest.raises(ValueError, match="aware"):
        next_times("* * * * *", LA, datetime(2024, 1, 1))


def test_unknown_zone():
    with pytest.raises(CronError, match='unknown time zone "Mars/Base"'):
        next_times("* * * * *", "Mars/Base", utc(2024, 1, 1))
    assert get_zone(LAZ) is LAZ


def test_invalid_expression_raises():
    with pytest.raises(CronError):
        next_times("61 * * * *", LA, utc(2024, 1, 1))


# -- DST: spring forward (2024-03-10, 02:00 PST -> 03:00 PDT) -----------------------------


def test_spring_forward_missing_time_runs_once_at_next_valid_minute():
    times = next_times("30 2 * * *", LA, la(2024, 3, 9, 12), n=3)
    assert times == [la(2024, 3, 10, 3, 0), la(2024, 3, 11, 2, 30), la(2024, 3, 12, 2, 30)]
    assert times[0].astimezone(UTC) == utc(2024, 3, 10, 10, 0)


def test_spring_forward_exactly_once_in_the_day():
    day = scheduled_times_between("30 2 * * *", LA, la(2024, 3, 10), la(2024, 3, 11))
    assert day == [utc(2024, 3, 10, 10, 0)]


def test_spring_forward_frequent_schedule_collapses_gap():
    times = scheduled_times_between("*/30 * * * *", LA, la(2024, 3, 10, 1), la(2024, 3, 10, 4))
    local = [t.astimezone(LAZ).strftime("%H:%M %Z") for t in times]
    assert local == ["01:30 PST", "03:00 PDT", "03:30 PDT", "04:00 PDT"]


def test_spring_forward_hourly_runs_once_at_three():
    times = scheduled_times_between("0 * * * *", LA, la(2024, 3, 10, 0), la(2024, 3, 10, 4))
    local = [t.astimezone(LAZ).strftime("%H:%M %Z") for t in times]
    assert local == ["01:00 PST", "03:00 PDT", "04:00 PDT"]


def test_croniter_alone_would_be_wrong_on_fall_back():
    """The reason the mapping is ours: croniter on aware datetimes runs 01:30 twice."""
    from croniter import croniter

    it = croniter("30 1 * * *", la(2024, 11, 2, 12))
    first, second = it.get_next(datetime), it.get_next(datetime)
    assert first.date() == second.date() == datetime(2024, 11, 3).date()


# -- DST: fall back (2024-11-03, 02:00 PDT -> 01:00 PST) ----------------------------------


def test_fall_back_repeated_time_runs_once_first_occurrence():
    times = next_times("30 1 * * *", LA, la(2024, 11, 2, 12), n=3)
    assert times == [la(2024, 11, 3, 1, 30), la(2024, 11, 4, 1, 30), la(2024, 11, 5, 1, 30)]
    assert times[0].astimezone(UTC) == utc(2024, 11, 3, 8, 30)  # 01:30 PDT
    assert times[0].fold == 0


def test_fall_back_exactly_once_in_the_day():
    # The local day of 2024-11-03 is 25 hours long.
    day = scheduled_times_between("30 1 * * *", LA, la(2024, 11, 3), la(2024, 11, 4))
    assert day == [utc(2024, 11, 3, 8, 30)]


def test_fall_back_not_rerun_when_starting_inside_repeated_hour():
    # 01:10 PST (second occurrence), after the 01:30 PDT run: the next run is tomorrow.
    inside = la(2024, 11, 3, 1, 10, fold=1)
    assert inside.astimezone(UTC) == utc(2024, 11, 3, 9, 10)
    assert next_times("30 1 * * *", LA, inside, n=1) == [la(2024, 11, 4, 1, 30)]


def test_fall_back_hourly_runs_each_local_time_once():
    times = scheduled_times_between("0 * * * *", LA, la(2024, 11, 3, 0), la(2024, 11, 3, 3))
    assert [t.astimezone(LAZ).strftime("%H:%M %Z") for t in times] == [
        "01:00 PDT",
        "02:00 PST",
        "03:00 PST",
    ]


# -- scheduled_times_between --------------------------------------------------------------


def test_between_is_start_exclusive_end_inclusive():
    times = scheduled_times_between("0 * * * *", "UTC", utc(2024, 1, 1, 1), utc(2024, 1, 1, 3))
    assert times == [utc(2024, 1, 1, 2), utc(2024, 1, 1, 3)]
    assert all(t.tzinfo is UTC for t in times)


def test_between_empty_and_limit():
    assert scheduled_times_between("0 * * * *", "UTC", utc(2024, 1, 2), utc(2024, 1, 1)) == []
    assert (
        len(scheduled_times_between("* * * * *", "UTC", utc(2024, 1, 1), utc(2024, 1, 2), limit=10))
        == 10
    )


def test_between_never_runs_in_window():
    assert scheduled_times_between("0 0 1 1 *", "UTC", utc(2024, 2, 1), utc(2024, 3, 1)) == []


# -- latest_due ---------------------------------------------------------------------------


def test_latest_due_same_day_and_previous_day():
    expr = "30 8 * * *"
    assert latest_due(expr, LA, utc(2024, 6, 1, 16)) == utc(2024, 6, 1, 15, 30)  # 09:00 PDT
    assert latest_due(expr, LA, utc(2024, 6, 1, 15)) == utc(2024, 5, 31, 15, 30)  # 08:00 PDT


def test_latest_due_includes_now():
    assert latest_due("30 8 * * *", LA, utc(2024, 6, 1, 15, 30)) == utc(2024, 6, 1, 15, 30)


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        ("UTC", utc(2024, 1, 15, 6, 0)),
        ("Europe/London", utc(2024, 1, 15, 6, 0)),  # GMT in January
        ("America/New_York", utc(2024, 1, 14, 11, 0)),  # 06:00 EST; 11:00 UTC not yet
        ("Asia/Tokyo", utc(2024, 1, 14, 21, 0)),  # 06:00 JST on the 15th
        ("Asia/Kolkata", utc(2024, 1, 15, 0, 30)),  # +05:30
        ("Pacific/Auckland", utc(2024, 1, 14, 17, 0)),  # 06:00 NZDT on the 15th
        (LA, utc(2024, 1, 14, 14, 0)),  # 06:00 PST on the 14th
    ],
)
def test_latest_due_across_time_zones(tz, expected):
    assert latest_due("0 6 * * *", tz, utc(2024, 1, 15, 9, 0)) == expected


def test_latest_due_across_year_for_rare_schedule():
    assert latest_due("0 0 29 2 *", "UTC", utc(2027, 1, 1)) == utc(2024, 2, 29)


def test_latest_due_spring_forward():
    # 02:30 does not exist on 2024-03-10; it ran at 03:00 PDT (10:00 UTC).
    assert latest_due("30 2 * * *", LA, utc(2024, 3, 10, 10, 5)) == utc(2024, 3, 10, 10, 0)
    assert latest_due("30 2 * * *", LA, utc(2024, 3, 10, 9, 59)) == utc(2024, 3, 9, 10, 30)


def test_latest_due_fall_back_inside_repeated_hour():
    # At 01:45 PST (second 01:45), the latest run is 01:30 PDT, not 01:30 PST.
    now = la(2024, 11, 3, 1, 45, fold=1)
    assert latest_due("30 1 * * *", LA, now) == utc(2024, 11, 3, 8, 30)
    # ...and before the first 01:30 it is still yesterday's.
    assert latest_due("30 1 * * *", LA, la(2024, 11, 3, 1, 15)) == utc(2024, 11, 2, 8, 30)


def test_latest_due_agrees_with_between():
    expr, now = "*/20 * * * *", utc(2024, 11, 3, 9, 50)
    between = scheduled_times_between(expr, LA, now - timedelta(days=1), now)
    assert latest_due(expr, LA, now) == between[-1]


def test_latest_due_needs_aware():
    with pytest.raises(ValueError, match="aware"):
        latest_due("* * * * *", LA, datetime(2024, 1, 1))


# -- window_for ---------------------------------------------------------------------------


def test_window_for():
    run = utc(2024, 6, 2, 15, 30)
    assert window_for(run, timedelta(hours=24)) == (utc(2024, 6, 1, 15, 30), run)
    with pytest.raises(ValueError):
        window_for(run, timedelta(hours=-1))
