"""Courier runs in Chromium: the seeds' sample-file bootstrap, a missing file, and a long run
watched live and stopped."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest

from couriers.models import Courier, CourierRun, LandedFile
from couriers.pipeline import courier_run_execute
from couriers.services.runs import courier_run_start
from demo import dated_key, write_dated_export
from tests.conftest import wait_until
from tests.factories import USERS_FIELDS, USERS_PATTERN, domain_rows, make_feed, users_courier
from tests.s3_faults import FaultProxy

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(10)]


def open_run_dialog(page, courier: Courier) -> None:
    page.goto("/")
    row = page.locator(f"#couriers-table tr[data-courier='{courier.name}']")
    row.get_by_role("button", name=f"Actions for {courier.name}").click()
    row.get_by_role("link", name="Run").click()


def run_for_day(page, courier: Courier, day: str) -> None:
    open_run_dialog(page, courier)
    page.get_by_label("Load data from a specific day").check()
    page.fill("input[name=day]", day)
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_url(re.compile(r"/couriers/runs/\d+/$"))


def test_placeholder_feed_id_lands_sample_files_and_fails_like_the_seed(
    page, celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, DAYS[:2], rows=200, seed=2, tables=("users",))
    courier = users_courier(
        bucket,
        s3_endpoint,
        name="Heap samples",
        load_operations={"df-xxxxxx": [{"type": "truncate"}, {"type": "load", "file": "users"}]},
    )
    seed_error = 'Error running load-operations task\nCannot find required feeds: "df-xxxxxx"'

    run_for_day(page, courier, "2024-03-01")
    page.wait_for_selector("#run-status[data-status=failed]", timeout=60_000)
    assert page.locator("#run-error").inner_text() == seed_error
    assert "Landed 1 file" in page.locator("#run-log").inner_text()

    # A second day lands a newer sample file (run from the shell path, same pipeline).
    second = courier_run_start(courier=courier, start_date=DAYS[1], queue=False)
    courier_run_execute(second.pk)

    page.goto("/")
    newest = page.locator("#activity-pane .notification").first
    assert newest.get_attribute("data-level") == "error"
    assert "Courier Heap samples failed" in newest.inner_text()
    assert newest.locator(".notification-message").inner_text() == seed_error

    # Add Feed offers the landed files as sample files, newest first, with date and id.
    page.goto("/feeds/add/")
    page.get_by_label("Choose a landed file").check()
    options = page.locator("select[name=landed_file] option").all_inner_texts()[1:]
    landed = list(LandedFile.objects.filter(courier=courier).order_by("-landed_at", "-id"))
    assert [f.file_date for f in landed] == [DAYS[1], DAYS[0]]
    assert len(options) == 2
    for text, f in zip(options, landed, strict=True):
        assert f.key in text and str(f.file_date) in text and f"(#{f.pk})" in text
    page.select_option("select[name=landed_file]", str(landed[0].pk))


def test_missing_required_file_names_the_pattern_and_the_date(
    page, celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, DAYS[:1], rows=50, seed=2, tables=("users",))
    courier = users_courier(bucket, s3_endpoint, name="Heap missing", load_operations={})

    run_for_day(page, courier, "2024-04-01")
    page.wait_for_selector("#run-status[data-status=failed]", timeout=60_000)
    error = page.locator("#run-error").inner_text()
    assert error.startswith(
        'Missing required file: entities[0]: no object matches "path/to/users-2024-04-01.avro" '
        f"for 2024-04-01 (pattern {USERS_PATTERN})"
    )
    assert "Skip missing files" in error


def rows_shown(page) -> int:
    text = page.locator("#run-progress").inner_text()
    return int(re.search(r"([\d,]+) rows", text).group(1).replace(",", ""))


def test_a_long_run_shows_live_progress_and_stops_without_touching_the_table(
    page, celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, DAYS, rows=4000, seed=4, tables=("users",))
    feed = make_feed(
        "Heap",
        f"Users {uuid.uuid4().hex[:6]}",
        USERS_FIELDS,
        ["user_id"],
        last_updated="last_modified",
    )
    with FaultProxy(s3_endpoint) as proxy:
        courier = users_courier(
            bucket,
            proxy.url,
            name="Heap slow",
            load_operations={feed.pk: [{"type": "load", "file": "users"}]},
        )
        first = courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
        courier_run_execute(first.pk)  # the table holds day 1 before the long run
        before = domain_rows(feed)
        assert before

        proxy.delay = 1.0  # a slow endpoint: nine more files take about nine seconds
        open_run_dialog(page, courier)
        page.get_by_label("Load data from a specific time period").check()
        page.fill("input[name=start_date]", "2024-03-01")
        page.fill("input[name=end_date]", "2024-03-11")
        page.get_by_role("button", name="Run", exact=True).click()
        page.wait_for_selector("#run-status[data-status=running]", timeout=30_000)

        # The progress bar and counts refresh in place (htmx polling) while it loads.
        wait_until(lambda: rows_shown(page) > 0, timeout=30, interval=0.2)
        seen = rows_shown(page)
        wait_until(lambda: rows_shown(page) > seen, timeout=30, interval=0.2)
        assert "of 9 files" in page.locator("#run-progress").inner_text()
        assert page.locator("#run-live .progress-bar").count() == 1

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#stop-run")
        page.wait_for_selector("#run-status[data-status=stopped]", timeout=30_000)
        assert "Stopped" in page.locator("#run-status").inner_text()
        assert "No domain table was changed." in page.locator("#run-error").inner_text()
        assert page.locator("#run-live .progress-bar").count() == 0
    run = CourierRun.objects.exclude(pk=first.pk).get(courier=courier)
    assert run.status == CourierRun.Status.STOPPED
    assert domain_rows(feed) == before
    assert dated_key("path/to/", "users", DAYS[9]) in run.loads.get().files


def test_the_run_dialog_shows_the_impact_then_runs_on_confirm(
    page, celery_worker, s3, bucket, s3_endpoint
):
    write_dated_export(s3, bucket, DAYS[:2], rows=120, seed=8, tables=("users",))
    feed = make_feed("Heap", f"Users {uuid.uuid4().hex[:6]}", USERS_FIELDS, ["user_id"])
    courier = users_courier(
        bucket,
        s3_endpoint,
        name="Heap impact",
        load_operations={feed.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}]},
    )
    first = courier_run_start(courier=courier, start_date=DAYS[0], queue=False)
    courier_run_execute(first.pk)
    rows = len(domain_rows(feed))

    open_run_dialog(page, courier)
    page.get_by_label("Load data from a specific day").check()
    page.fill("input[name=day]", "2024-03-02")
    page.locator("input[name=day]").dispatch_event("change")
    impact = page.locator("#run-impact")
    expected = f"{feed.table_name} will be truncated and reloaded ({rows:,} rows now) from 1 file"
    impact.locator(f"text={expected}").wait_for()
    assert dated_key("path/to/", "users", DAYS[1]) in impact.inner_text()

    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#run-status[data-status=succeeded]", timeout=60_000)
    run = CourierRun.objects.exclude(pk=first.pk).get(courier=courier)
    assert run.start_date == DAYS[1]
    assert run.loads.get().files == [dated_key("path/to/", "users", DAYS[1])]
