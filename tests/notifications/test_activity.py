"""Recent activity: one entry per run that moves with it, an unread badge, mark-as-read, and
e-mail as a courtesy that never fails a run."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from couriers.models import Courier
from couriers.services.runs import courier_run_start, courier_run_stop
from notifications.models import Notification
from notifications.services import notification_post
from tests.factories import make_credential

pytestmark = pytest.mark.django_db(transaction=True)


def queued_run(name: str, endpoint: str):
    courier = Courier.objects.create(
        name=name, credential=make_credential(endpoint), bucket="heap-rs3-demo"
    )
    return courier_run_start(courier=courier, start_date=None, mode="all", queue=False)


def test_a_run_keeps_one_entry_that_follows_its_status(s3_endpoint):
    run = queued_run("Heap", s3_endpoint)
    entry = Notification.objects.get()
    assert (entry.level, entry.title) == ("running", "Courier Heap is running")
    assert entry.url == reverse("couriers:run_detail", args=[run.pk])
    entry.read_at = entry.created_at
    entry.save()

    assert courier_run_stop(run=run)  # a queued run stops at once
    entry = Notification.objects.get()  # the same entry, moved on, unread again
    assert entry.level == "warning" and entry.read_at is None
    assert entry.message.startswith("Stopped.")


def test_a_mail_outage_does_not_fail_the_caller(settings):
    settings.SOURCES_NOTIFY_EMAILS = ["ops@example.com"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    notification = notification_post(level="error", title="Courier Heap failed", message="x")
    assert notification.pk


def test_mark_all_read_without_htmx_returns_to_the_activity_page(s3_endpoint, analyst_client):
    queued_run("Heap", s3_endpoint)
    response = analyst_client.post(reverse("notifications:mark_all_read"))
    assert response.status_code == 302 and response["Location"] == reverse("notifications:index")
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    page = analyst_client.get(reverse("notifications:index")).content.decode()
    assert "Courier Heap is running" in page


@pytest.mark.browser
def test_unread_badge_open_a_notification_and_mark_all_read(page, s3_endpoint):
    first = queued_run("Heap users", s3_endpoint)
    queued_run("Heap events", s3_endpoint)
    page.goto("/")
    badge = page.locator("#unread-badge")
    assert badge.inner_text() == "2"

    # Clicking an entry opens its run and marks it read.
    page.locator("#activity-pane .notification", has_text="Heap users").locator("a").click()
    page.wait_for_url(re.compile(rf"/couriers/runs/{first.pk}/$"))
    assert page.locator("#run-live h1").inner_text() == f"Run {first.pk}: Heap users"
    assert page.locator("#unread-badge").inner_text() == "1"
    assert Notification.objects.filter(read_at__isnull=True).count() == 1

    page.get_by_role("button", name="Mark all read").click()
    page.wait_for_selector("#unread-badge", state="detached")
    assert page.locator("#activity-pane").get_by_role("button", name="Mark all read").count() == 0
    assert not Notification.objects.filter(read_at__isnull=True).exists()
