"""A domain table's page says its Postgres name, so an analyst can query it."""

import subprocess
import uuid

import pytest
from django.urls import reverse

from feeds.templatetags.domain_tables import postgres_name, psql_command
from tests.factories import make_feed

pytestmark = pytest.mark.django_db(transaction=True)


def test_postgres_name_quotes_the_table():
    assert postgres_name("Heap:Users") == 'domain."Heap:Users"'
    assert postgres_name('Odd "name"') == 'domain."Odd ""name"""'


def test_psql_command_survives_the_shell(tmp_path):
    command = psql_command("Bob's:Users")
    echoed = subprocess.run(
        ["bash", "-c", command.replace('psql "$DATABASE_URL" -c', "printf %s")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert echoed.stdout == 'SELECT * FROM domain."Bob\'s:Users" LIMIT 100;'


def test_table_page_shows_the_postgres_name(analyst_client):
    source = f"Src{uuid.uuid4().hex[:6]}"
    feed = make_feed(source, "Users", [("id", "integer")], ["id"])
    page = analyst_client.get(reverse("feeds:table", args=[feed.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="postgres-table-name">domain.&quot;{source}:Users&quot;</code>' in html
    assert "Query it from psql" in html


def test_favicon_is_served_to_anyone(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
