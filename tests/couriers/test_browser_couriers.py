"""Click through the new courier editor in Chromium: browse to a file, or use a pattern."""

import gzip

import pytest

from couriers.models import Courier

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def files(s3, bucket):
    s3.put_object(Bucket=bucket, Key="exports/2024/04/10/people.csv.gz",
                  Body=gzip.compress(b"id;name;city\n1;Ann;Paris\n2;Bob;Oslo\n"))  # fmt: skip
    s3.put_object(Bucket=bucket, Key="exports/2024/04/11/people.csv.gz",
                  Body=gzip.compress(b"id;name;city\n3;Cyd;Rome\n"))  # fmt: skip
    return bucket


def connect(page, bucket, name):
    page.goto("/couriers/add/")
    page.click("text=Amazon S3")
    page.fill("#id_name", name)
    page.select_option("#id_credential", label="Test S3")
    page.fill("#id_bucket", bucket)
    page.fill("#id_prefix", "exports/")
    page.click("#continue")
    page.wait_for_selector("#connection-result:has-text('Connection successful')")


def test_browse_to_a_file_review_it_and_save(page, files, s3_credential):
    connect(page, files, "People by browsing")
    page.click("#browse-button")
    # Each folder's listing is fetched from S3 when it opens: on a busy machine give it time.
    for folder in ("2024/", "04/", "10/"):
        page.locator("#browser tr.browser-folder").get_by_text(folder, exact=True).click(
            timeout=45_000
        )
    row = page.locator("tr.browser-file", has_text="people.csv.gz")
    assert "Bytes" in row.inner_text() or "bytes" in row.inner_text()
    row.locator("text=Select").click()

    # Review: semicolons inferred; the table shows the rows; a setting refreshes in place.
    page.wait_for_selector("#preview-table th:has-text('city')")
    assert page.input_value("#id_delimiter") == ";"
    assert page.locator("#preview-table tbody tr").count() == 2
    # A delimiter the file does not use is refused, naming line 1 and the one it does use.
    page.fill("#id_delimiter", ",")
    page.press("#id_delimiter", "Tab")
    error = page.wait_for_selector("#review-error")
    assert 'line 1: the declared delimiter "," does not occur, but ";" does' in error.inner_text()
    page.fill("#id_delimiter", ";")
    page.press("#id_delimiter", "Tab")
    page.wait_for_selector("#preview-table th:has-text('city')")
    page.click("#show-raw")
    assert "1;Ann;Paris" in page.inner_text("#preview-raw")

    page.fill("#id_tag", "people")
    page.click("#add-file-button")
    page.check("text=Create new feed")
    page.click("#feed-step-save")
    courier = Courier.objects.get(name="People by browsing")
    assert courier.entities[0]["object/file-pattern"] == "'exports/2024/04/10/people.csv.gz'"
    assert "/feeds/add/" in page.url and f"courier={courier.pk}" in page.url

    # The same courier in the legacy editor shows the entity.
    page.goto(f"/couriers/{courier.pk}/edit/")
    entities = page.input_value("#id_entities")
    assert '"file/tag": "people"' in entities and '"file/separator": ";"' in entities


def test_new_editor_to_rows_in_the_data_explorer(page, files, s3_credential, celery_worker):
    """The seeds' new editor end to end: select a file, create its feed, activate, run."""
    connect(page, files, "People")
    page.click("#browse-button")
    for folder in ("2024/", "04/", "10/"):
        page.click(f"#browser >> text={folder}")
    page.locator("tr.browser-file", has_text="people.csv.gz").locator("text=Select").click()
    page.wait_for_selector("#preview-table th:has-text('city')")
    page.fill("#id_tag", "people")
    page.click("#add-file-button")
    page.check("text=Create new feed")
    page.click("#feed-step-save")

    # Add Feed: the reviewed file is the sample, already chosen.
    page.wait_for_selector("#add-feed-form")
    assert "people.csv.gz" in page.locator("#id_landed_file option:checked").inner_text()
    page.fill("#id_new_data_source", "Crm")
    page.fill("#id_name", "People")
    page.locator("#add-feed-form button[type=submit]").click()

    # Back to the courier: it loads the new feed from the file's tag.
    page.get_by_role("button", name="Save load operation").click()
    page.wait_for_selector("#activate-feed")
    feed_id = page.url.rstrip("/").split("/")[-2]
    page.locator("input[aria-label='id is part of the primary key']").check()
    page.click("#activate-feed")
    page.wait_for_selector("text=Data Explorer")

    courier = Courier.objects.get(name="People")
    assert courier.load_operations == {feed_id: [{"type": "load", "file": "people"}]}
    page.goto(f"/couriers/{courier.pk}/run/")
    page.fill("input[name=day]", "2024-04-10")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_selector("#run-status[data-status=succeeded]", timeout=60_000)
    page.goto(f"/feeds/explorer/{feed_id}/")
    body = page.inner_text("main")
    assert "Ann" in body and "Bob" in body and "Cyd" not in body


def test_pattern_tester_then_save(page, files, s3_credential):
    connect(page, files, "People by pattern")
    page.click("#pattern-tab")
    page.fill("#id_pattern", "'exports/'yyyy'/'MM'/'dd'/people.csv.gz'")
    page.fill("#id_day", "2024-04-11")
    page.click("#test-pattern")
    page.wait_for_selector("#pattern-matches:has-text('1 file match')")
    assert "exports/2024/04/11/people.csv.gz" in page.inner_text("#pattern-matches")
    assert "04/10" not in page.inner_text("#pattern-matches")
    page.click("#pattern-matches >> text=Review")
    page.wait_for_selector("#preview-table td:has-text('Cyd')")
    assert page.input_value("#id_pattern") == "'exports/'yyyy'/'MM'/'dd'/people.csv.gz'"
    page.fill("#id_tag", "people")
    page.click("#add-file-button")
    page.click("text=Back")
    page.wait_for_selector("#draft-entities:has-text('people')")
    page.click("#wizard-save")
    page.wait_for_selector("h1:has-text('People by pattern')")
    assert "'exports/'yyyy'/'MM'/'dd'/people.csv.gz'" in page.inner_text("#courier-entities")
    page.fill("#pattern-tester #id_day", "2024-04-10")
    page.click("#pattern-tester #test-pattern")
    page.wait_for_selector("#pattern-matches:has-text('exports/2024/04/10/people.csv.gz')")


def test_use_existing_feed_with_a_mismatching_file_shows_the_diff(page, files, s3_credential):
    from feeds.models import DataSource, Feed, FeedField

    feed = Feed.objects.create(
        data_source=DataSource.objects.create(name="CRM"), name="Contacts", primary_key=["id"]
    )
    for position, (name, type_) in enumerate([("id", "integer"), ("email", "string")]):
        FeedField.objects.create(feed=feed, position=position, incoming=name, name=name, type=type_)

    connect(page, files, "Contacts")
    page.click("#browse-button")
    for folder in ("2024/", "04/", "10/"):
        page.click(f"#browser >> text={folder}")
    page.locator("tr.browser-file", has_text="people.csv.gz").locator("text=Select").click()
    page.wait_for_selector("#preview-table th:has-text('city')")
    page.fill("#id_tag", "people")
    page.click("#add-file-button")
    page.check("text=Use existing feed")
    page.select_option("#id_feed", label=f"CRM:Contacts ({feed.pk})")

    page.wait_for_selector("#compare-result:has-text('The file does not match CRM:Contacts')")
    rows = {
        r.locator("td").first.inner_text(): r.inner_text()
        for r in page.locator("#compare-table tbody tr").all()
    }
    assert "email" in rows and "city" in rows  # missing from the file / not in the feed
    assert page.locator("#compare-table tr.table-warning").count() >= 2
