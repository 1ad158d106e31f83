"""Styled 404 and 500 pages (DEBUG off, as in production), with a way back to Sources."""

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings

import amperity_sources.views

STYLESHEET = "/static/css/sources.css"


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_a_missing_page_is_the_styled_404(analyst_client):
    response = analyst_client.get("/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Page not found" in body and "/no/such/page/" in body
    assert STYLESHEET in body and 'href="/"' in body and "Back to Sources" in body
    assert 'class="navbar' in body  # the product's own layout

    missing_courier = analyst_client.get("/couriers/987654/")
    assert (
        missing_courier.status_code == 404 and "Page not found" in missing_courier.content.decode()
    )


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_a_failing_view_is_the_styled_500_without_details(analyst, monkeypatch):
    def broken():
        raise RuntimeError("secret detail of a bug")

    # A bug cannot be caused on purpose: the Sources page's query is replaced by one that fails.
    monkeypatch.setattr(amperity_sources.views, "couriers_for_sources_page", broken)
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in body and "Back to Sources" in body
    assert STYLESHEET in body and 'href="/"' in body
    assert "secret detail" not in body and "Traceback" not in body


def test_the_500_page_needs_no_request_and_no_database():
    # No django_db mark: any database query here fails the test.
    body = render_to_string("500.html")
    assert "Something went wrong" in body and STYLESHEET in body
