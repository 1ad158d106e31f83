"""The Run dialog says what a run will do before it is confirmed: the files it will land per
entity (S3 listed as the run lists it) and what happens to each table, with its rows now."""

import html
from datetime import date

import pytest

from demo import dated_key, write_dated_export
from tests.factories import USERS_FIELDS, domain_rows, make_feed, run_here, users_courier

pytestmark = pytest.mark.django_db(transaction=True)
DAY = date(2024, 3, 1)


@pytest.fixture
def loaded(s3, bucket, s3_endpoint):
    write_dated_export(s3, bucket, [DAY], rows=150, seed=3, tables=("users",))
    feed = make_feed("Heap", f"Users {bucket}", USERS_FIELDS, ["user_id"])
    courier = users_courier(
        bucket,
        s3_endpoint,
        load_operations={feed.pk: [{"type": "truncate"}, {"type": "load", "file": "users"}]},
    )
    run_here(courier, start_date=DAY)
    return courier, feed, len(domain_rows(feed))


def impact(client, courier, **params):
    response = client.get(f"/couriers/{courier.pk}/run/impact/", params)
    assert response.status_code == 200
    return " ".join(html.unescape(response.content.decode()).split())


def test_the_impact_names_the_files_and_the_table_to_be_truncated(analyst_client, loaded):
    courier, feed, rows = loaded
    text = impact(analyst_client, courier, mode="day", day="2024-03-01")
    assert dated_key("path/to/", "users", DAY) in text
    assert (
        f"{feed.table_name} will be truncated and reloaded ({rows:,} rows now) from 1 file"
    ) in text


def test_a_day_without_files_says_the_run_fails_or_keeps_the_table(analyst_client, loaded):
    courier, feed, rows = loaded
    text = impact(analyst_client, courier, mode="day", day="2024-04-01")
    assert 'no object matches "path/to/users-2024-04-01.avro"' in text
    assert "the run will fail" in text
    skipping = impact(analyst_client, courier, mode="day", day="2024-04-01", skip_missing="on")
    assert f"{feed.table_name} has nothing to load: the table will be kept ({rows:,} rows)" in (
        skipping
    )


def test_an_upsert_feed_shows_the_files_it_will_skip(analyst_client, loaded):
    courier, feed, rows = loaded
    courier.load_operations = {feed.pk: [{"type": "load", "file": "users"}]}
    courier.save()
    text = impact(analyst_client, courier, mode="day", day="2024-03-01")
    assert f"{feed.table_name}: 1 file was loaded before and will be skipped" in text
    assert f"the table will be kept ({rows:,} rows)" in text
    again = impact(analyst_client, courier, mode="day", day="2024-03-01", reload="on")
    assert f"{feed.table_name} will be upserted ({rows:,} rows now) from 1 file" in again


def test_bad_dates_are_said_in_the_panel(analyst_client, loaded):
    courier, _, _ = loaded
    text = impact(analyst_client, courier, mode="period", start_date="2024-03-02",
                  end_date="2024-03-01")  # fmt: skip
    assert "The end date is exclusive" in text
