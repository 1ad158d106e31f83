"""The group pages through Django's test client: forms, errors, row actions."""

import pytest
from django.urls import reverse

from courier_groups.models import CourierGroup
from couriers.models import Courier

pytestmark = pytest.mark.django_db


def form_data(courier=None, **overrides):
    data = {
        "name": "Heap",
        "cron": "30 8 * * *",
        "timezone": "America/Los_Angeles",
        "use_timezone_for_dates": "on",
        "active": "true",
        "alert_hours": "1",
        "alert_minutes": "30",
        "members-TOTAL_FORMS": "1",
        "members-INITIAL_FORMS": "0",
        "members-0-courier": str(courier.pk) if courier else "",
        "members-0-wait_hours": "1",
        "members-0-wait_minutes": "0",
        "members-0-offset_hours": "24",
        "members-0-notify_when_missing": "on",
        "constraints-TOTAL_FORMS": "0",
        "constraints-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_create_a_group_with_a_courier(analyst_client, make_courier):
    courier = make_courier()
    response = analyst_client.post(reverse("courier_groups:add"), form_data(courier))
    group = CourierGroup.objects.get(name="Heap")
    assert response.status_code == 302 and response.url == reverse(
        "courier_groups:detail", args=[group.pk]
    )
    member = group.members.get()
    assert (member.courier, member.wait_minutes, member.offset_minutes) == (courier, 60, 1440)
    assert group.alert_after_minutes == 90 and group.timezone == "America/Los_Angeles"
    page = analyst_client.get(response.url).content.decode()
    assert "At 08:30" in page
    assert "08:30 PDT" in page or "08:30 PST" in page


def test_a_bad_schedule_is_refused_next_to_the_field(analyst_client):
    response = analyst_client.post(reverse("courier_groups:add"), form_data(cron="61 8 * * *"))
    assert response.status_code == 400
    assert "minute field" in response.content.decode() and "0-59" in response.content.decode()
    assert not CourierGroup.objects.exists()


def test_the_cron_preview_reads_the_schedule_and_lists_five_times(analyst_client):
    url = reverse("courier_groups:cron_preview")
    page = analyst_client.get(url, {"cron": "30 8 * * 1-5", "timezone": "Europe/Berlin"})
    text = page.content.decode()
    assert "08:30" in text and "Monday through Friday" in text
    assert text.count("<li>") == 5 and ("CEST" in text or "CET" in text)
    bad = analyst_client.get(url, {"cron": "30 8 * *", "timezone": "UTC"}).content.decode()
    assert "expected 5 fields, got 4" in bad


def test_delete_asks_first_and_keeps_the_couriers(analyst_client, make_courier, make_group):
    courier = make_courier()
    group = make_group(couriers=[courier])
    url = reverse("courier_groups:delete", args=[group.pk])
    assert "Its couriers are kept" in analyst_client.get(url).content.decode()
    assert CourierGroup.objects.filter(pk=group.pk).exists()
    analyst_client.post(url)
    assert not CourierGroup.objects.filter(pk=group.pk).exists()
    assert Courier.objects.filter(pk=courier.pk).exists()


def test_make_a_copy_is_inactive_until_switched_on(analyst_client, make_courier, make_group):
    group = make_group(couriers=[make_courier()])
    response = analyst_client.post(reverse("courier_groups:copy", args=[group.pk]))
    copy = CourierGroup.objects.get(name=f"Copy of {group.name}")
    assert response.url == reverse("courier_groups:edit", args=[copy.pk])
    assert not copy.active and copy.members.count() == 1 and copy.cron == group.cron


def test_run_a_specific_day_shows_the_group_run(analyst_client, make_courier, make_group):
    courier = make_courier()
    group = make_group(couriers=[courier])
    response = analyst_client.post(
        reverse("courier_groups:run", args=[group.pk]), {"mode": "day", "day": "2024-06-03"}
    )
    run = group.runs.get()
    assert response.url == reverse("courier_groups:run_detail", args=[run.pk])
    page = analyst_client.get(response.url).content.decode()
    assert (
        courier.name in page
        and reverse("couriers:run_detail", args=[courier.runs.get().pk]) in page
    )


def test_run_a_period_needs_an_end_after_the_start(analyst_client, make_group):
    group = make_group()
    response = analyst_client.post(
        reverse("courier_groups:run", args=[group.pk]),
        {"mode": "period", "start_date": "2024-06-03", "end_date": "2024-06-03"},
    )
    assert response.status_code == 400 and "exclusive" in response.content.decode()
    assert not group.runs.exists()


def test_skipped_runs_show_in_the_history_and_the_chart(analyst_client, make_group):
    from datetime import UTC, datetime

    from courier_groups.services.scheduler import scheduler_tick

    group = make_group(cron="0 * * * *")
    CourierGroup.objects.filter(pk=group.pk).update(schedule_since=datetime(2024, 6, 3, tzinfo=UTC))
    scheduler_tick(now=datetime(2024, 6, 3, 3, 5, tzinfo=UTC))
    page = analyst_client.get(reverse("courier_groups:detail", args=[group.pk])).content.decode()
    assert page.count('data-status="skipped"') >= 4  # 2 rows + 2 bars
    assert "missed while the scheduler was down" in page
    assert '<svg id="run-timeline"' in page
