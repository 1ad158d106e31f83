"""Create a courier group in the browser, read its schedule, run it, watch it complete."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from courier_groups.models import CourierGroup
from courier_groups.services.scheduler import scheduler_tick
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.worker]


def test_create_a_group_see_its_times_run_it_and_see_it_complete(
    page, celery_worker, s3, bucket, make_courier
):
    make_courier("Heap users", pattern="'users-'yyyy-MM-dd'.csv'")
    today = timezone.localdate()
    s3.put_object(Bucket=bucket, Key=f"users-{today:%Y-%m-%d}.csv", Body=b"user_id\n1\n")

    page.goto("/")
    page.get_by_role("link", name="Add Courier Group").click()
    expect(page.get_by_role("heading", name="Create Courier Group")).to_be_visible()
    page.get_by_role("textbox", name="Name").fill("Heap nightly")
    page.get_by_role("combobox", name="Time zone").select_option("America/Los_Angeles")
    page.get_by_label("Schedule").fill("61 8 * * *")
    expect(page.locator("#cron-problem")).to_contain_text("out of range 0-59")
    page.get_by_label("Schedule").fill("30 8 * * 1-5")
    expect(page.locator("#cron-reading")).to_contain_text("At 08:30, Monday through Friday")
    expect(page.locator("#cron-next-times li")).to_have_count(5)
    expect(page.locator("#cron-next-times li").first).to_contain_text(re.compile("08:30 P[DS]T"))
    page.get_by_label("Courier", exact=True).select_option(label="Heap users")
    page.get_by_label("Wait hours").fill("1")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("heading", name="Courier group Heap nightly")).to_be_visible()
    expect(page.locator("#next-times li")).to_have_count(5)
    expect(page.locator("#group-summary")).to_contain_text("At 08:30, Monday through Friday")
    group = CourierGroup.objects.get(name="Heap nightly")
    assert group.members.get().wait_minutes == 60

    page.get_by_role("link", name="Run", exact=True).click()
    page.get_by_label("Load data from a specific day").check()
    page.get_by_label("Day", exact=True).fill(f"{today:%Y-%m-%d}")
    page.get_by_role("button", name="Run").click()
    expect(page.locator("#group-run-couriers")).to_contain_text("Heap users")

    # Celery beat is not running in tests: tick the way it would, every second.
    def finished():
        scheduler_tick(now=timezone.now())
        return group.runs.get().status in ("succeeded", "failed")

    wait_until(finished, timeout=60, interval=1)
    expect(page.locator("#group-run-status")).to_contain_text("Succeeded", timeout=10_000)
    expect(page.locator("#group-run-couriers")).to_contain_text("Succeeded")
    page.get_by_role("link", name="← Courier group Heap nightly").click()
    expect(page.locator("#run-timeline rect[data-status=succeeded]")).to_have_count(1)
