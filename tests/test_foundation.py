"""The shell of the product: login everywhere, assets served locally."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/", "/couriers/add/", "/feeds/explorer/", "/notifications/", "/credentials/"]
)
def test_every_page_requires_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_is_served(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"Log in to Sources" in response.content


def test_sources_page_shows_its_sections(analyst_client):
    body = analyst_client.get("/").content.decode()
    for heading in ("Couriers", "Feeds", "Domain tables", "Courier groups", "Recent activity"):
        assert heading in body


def test_bootstrap_and_htmx_come_from_this_server(analyst_client):
    body = analyst_client.get("/").content.decode()
    assert "cdn" not in body.lower() and "unpkg" not in body.lower()
    for asset in ("/static/bootstrap/css/bootstrap.min.css", "/static/htmx/htmx.min.js"):
        assert asset in body
