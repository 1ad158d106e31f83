"""Add a feed from an uploaded sample, shape it in the Feed Editor, activate, explore its rows."""

import pytest
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds.models import Feed

pytestmark = [pytest.mark.django_db(transaction=True)]

CSV = (
    "account,email,First Name,zip,plan\n"
    "acme,ann@acme.com,Ann,02134,gold\n"
    "acme,bo@acme.com,Bo,98101,silver\n"
    "zeta,cy@zeta.io,Cy,10001,gold\n"
)


@pytest.fixture
def sample(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "customers.csv"
    path.write_text(CSV)
    yield path
    with domain_connection(autocommit=True) as conn:
        table = sql.Identifier(settings.DOMAIN_SCHEMA, "Shop:Customers")
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))


@pytest.mark.browser
def test_add_feed_activate_with_sample_and_explore(page, sample):
    page.goto("/")
    page.get_by_role("link", name="Add Feed").click()
    page.get_by_label("New data source name").fill("Shop")
    page.get_by_label("Feed name").fill("Customers")
    assert page.locator("#table-name-preview").inner_text() == "Shop:Customers"
    page.get_by_label("Upload a file").check()
    page.get_by_label("File to upload").set_input_files(str(sample))
    page.get_by_label("Load sample file on feed activation").check()
    page.get_by_role("button", name="Continue").click()

    # The Feed Editor: inferred types, a suggested rename and tags.
    page.wait_for_selector("#field-grid")
    assert page.get_by_label("Rename First Name to").input_value() == "first_name"
    assert page.get_by_label("Semantic tag of email").input_value() == "email"
    assert page.get_by_label("Semantic tag of zip").input_value() == "postal"
    assert page.get_by_label("Type of zip").input_value() == "string"  # "02134" keeps its 0
    assert page.locator("#sample-rows tbody tr").count() == 3

    # Activating fails until there is a key and "zip" (a postal code) is a String again.
    page.get_by_label("Type of zip").select_option("integer")
    page.get_by_role("button", name="Activate").click()
    assert "Choose a primary key" in page.locator("#feed-problems").inner_text()
    assert (
        'Field "zip" is tagged postal, so it must be a String.'
        in page.locator("tr.field-problems").inner_text()
    )
    page.get_by_label("Type of zip").select_option("string")
    page.get_by_label("Semantic tag of plan").fill("loyalty-tier")
    page.get_by_label("account is part of the primary key").check()
    page.get_by_label("email is part of the primary key").check()
    assert page.get_by_label("Last updated field").input_value() == ""  # generated
    page.get_by_role("button", name="Activate").click()

    assert page.locator("#feed-status").inner_text() == "Active"
    assert "Sample file loaded: 3 rows read, 3 inserted" in page.content()
    feed = Feed.objects.get(name="Customers")
    assert feed.primary_key == ["account", "email"] and feed.last_updated_field == ""

    # The Data Explorer lists the table and shows its rows with types and tags.
    page.get_by_role("link", name="Data Explorer").first.click()
    row = page.locator("#explorer-tables tr", has_text="Shop:Customers")
    assert "Customer profile" in row.inner_text() and "3" in row.inner_text()
    row.get_by_role("link", name="Shop:Customers").click()
    table = page.locator("#explorer-rows")
    assert table.locator("tbody tr").count() == 3
    assert "postal" in table.locator("thead").inner_text()
    assert "02134" in table.inner_text() and "cy@zeta.io" in table.inner_text()
    page.get_by_label("Filter column").select_option("plan")
    page.get_by_label("Value").fill("gold")
    page.get_by_role("button", name="Apply").click()
    assert page.locator("#explorer-rows tbody tr").count() == 2
