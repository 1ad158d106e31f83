"""The Heap workflow in the browser: connect → tables → feeds → activate → run → explore."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from demo import HeapExportSpec, expected_counts, write_heap_export
from feeds.models import Feed
from tests.factories import make_credential

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def run_all(page, detail_url):
    page.goto(detail_url)
    page.click("#run-courier")
    page.check("input[name=mode][value=all]")
    page.click("#run-courier-form button[type=submit]")
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=90_000
    )


def test_heap_tile_to_rows_in_the_data_explorer(page, celery_worker, s3, bucket, s3_endpoint):
    spec = HeapExportSpec(rows=1200, seed=5)
    write_heap_export(s3, bucket, spec)
    credential = make_credential(s3_endpoint, name="Heap bucket key")

    page.goto(reverse("couriers:heap_add"))
    page.fill("input[name=name]", "Heap production")
    page.select_option("select[name=credential]", str(credential.pk))
    page.fill("input[name=bucket]", bucket)
    page.click("button[value=continue]")
    expect(page.locator("#connection-ok")).to_contain_text("Connection successful")
    tables = page.locator("#heap-tables")
    for name in ("users", "sessions", "pageviews", "user_migrations", "sign_up_click_link"):
        expect(tables.locator(f"label[for=table-{name}]")).to_have_text(name)
    expect(tables).to_contain_text("about")
    page.uncheck("#table-checkout_completed")  # a table the user does not want
    page.click("#create-heap")

    expect(page.locator("#heap-feeds")).to_contain_text("Heap:Users")
    expect(page.locator("#heap-feeds")).not_to_contain_text("Heap:Checkout completed")
    users = Feed.objects.get(data_source__name="Heap", name="Users")
    editor = page.locator(f"a[href='{reverse('feeds:edit', args=[users.pk])}']")
    expect(editor).to_be_visible()
    expect(page.locator("#heap-feeds .badge", has_text="Draft")).to_have_count(5)
    page.click("#activate-all")
    expect(page.locator("#heap-feeds .badge", has_text="Active")).to_have_count(5)
    detail_url = page.url

    run_all(page, detail_url)
    expect(page.locator("#run-events, body")).to_contain_text("Identity rebuilt")
    page.goto(reverse("feeds:table", args=[users.pk]))
    expect(page.locator("#row-count")).to_contain_text(f"{expected_counts(spec)['users']:,} rows")
    expect(page.locator("#explorer-rows tbody tr").first).to_be_visible()

    run_all(page, detail_url)
    expect(page.locator("body")).to_contain_text(
        f"No new Heap dumps since dump {spec.dump_ids[-1]}"
    )
    page.goto(detail_url)
    expect(page.locator("#heap-dumps tbody tr")).to_have_count(spec.dumps)
    expect(page.locator("#identity-1")).to_contain_text(re.compile(r"[\d,]+ rows"))
