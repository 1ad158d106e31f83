"""The thin path in a real browser: log in, run the demo courier, see the rows it loaded."""

from datetime import date

import pytest

from couriers.models import Courier
from demo import expected_tables, write_dated_export
from tests.factories import USERS_FIELDS, make_credential, make_feed

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_analyst_runs_the_courier_from_the_sources_page(
    page, celery_worker, s3, bucket, s3_endpoint
):
    day = date(2024, 3, 1)
    summary = write_dated_export(s3, bucket, [day], rows=300, seed=3, tables=("users",))
    feed = make_feed("Heap", "Users", USERS_FIELDS, ["user_id"], last_updated="last_modified")
    Courier.objects.create(
        name="Heap",
        credential=make_credential(s3_endpoint),
        bucket=bucket,
        entities=[
            {
                "object/type": "file",
                "object/file-pattern": "'path/to/users-'yyyy'-'MM'-'dd'.avro'",
                "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
            }
        ],
        load_operations={feed.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}]},
    )
    expected = len(expected_tables(summary.spec, ["users"])["users"])

    page.goto("/")
    row = page.locator("#couriers-table tr[data-courier='Heap']")
    row.get_by_role("button", name="Actions for Heap").click()
    row.get_by_role("link", name="Run").click()
    page.get_by_label("Load data from a specific day").check()
    page.fill("input[name=day]", "2024-03-01")
    page.get_by_role("button", name="Run", exact=True).click()

    page.wait_for_selector("#run-status[data-status=succeeded]", timeout=60_000)
    loads = page.locator("#run-loads tr[data-feed]")
    assert loads.locator(".rows-inserted").inner_text() == str(expected)
    assert "Heap:Users" in loads.inner_text()
    assert (
        page.locator("#run-log")
        .inner_text()
        .splitlines()[-1]
        .split(" ", 1)[1]
        .startswith("Completed in ")
    )
    # The Recent activity pane says so too, and its entry leads back to the run.
    run_url = page.url
    page.goto("/")
    entry = page.locator("#activity-pane .notification").first
    assert entry.get_attribute("data-level") == "completed"
    assert "Courier Heap completed" in entry.inner_text()
    assert entry.locator(".notification-message").inner_text().startswith("Completed in ")
    entry.locator("a").click()
    page.wait_for_url(run_url)
    assert page.locator("#unread-badge").count() == 0
