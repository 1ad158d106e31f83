"""Use existing feed: a file must match the feed's field names, types and primary key."""

import pytest
from django.template.loader import render_to_string

from feeds.models import DataSource, Feed
from feeds.services import feed_compare, feed_update_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed():
    feed = Feed.objects.create(data_source=DataSource.objects.create(name="Heap"), name="Users")
    fields = [
        {"incoming": "user_id", "type": "integer"},
        {"incoming": "email", "type": "string"},
        {"incoming": "joindate", "type": "datetime"},
    ]
    return feed_update_fields(feed=feed, fields=fields, primary_key=["user_id"])


def test_a_matching_file(feed):
    diff = feed_compare(
        feed=feed,
        columns=[("user_id", "int64"), ("email", "string"), ("joindate", "timestamp[us, tz=UTC]")],
    )
    assert diff.matches
    assert [(r.field, r.status) for r in diff.rows] == [
        ("user_id", "match"), ("email", "match"), ("joindate", "match"), ("Primary key", "match"),
    ]  # fmt: skip


def test_text_columns_are_compatible_and_a_missing_key_and_extra_column_are_not(feed):
    diff = feed_compare(
        feed=feed, columns=[("email", "string"), ("joindate", "string"), ("plan", "string")]
    )
    assert not diff.matches
    statuses = {r.field: r.status for r in diff.rows}
    assert statuses == {
        "user_id": "missing from file",
        "email": "match",
        "joindate": "compatible",
        "plan": "not in feed",
        "Primary key": "missing from file",
    }
    assert diff.problems == [
        'The file has no column "user_id".',
        'The file has a column "plan" the feed does not have.',
        "The file does not have every primary key field of the feed.",
    ]
    html = render_to_string("feeds/_diff.html", {"diff": diff})
    assert "does not match Heap:Users" in html and "not in feed" in html


def test_a_different_type(feed):
    diff = feed_compare(
        feed=feed, columns=[("user_id", "boolean"), ("email", "string"), ("joindate", "date")]
    )
    assert [p for p in diff.problems] == [
        'Column "user_id" holds boolean values; the feed expects Integer.'
    ]
    assert {r.field: r.status for r in diff.rows}["joindate"] == "compatible"


def test_a_csv_file_compared_through_its_inferred_types(feed):
    import io

    from feeds.services import file_columns

    csv = b"user_id,email,joindate\n1,a@x.com,2024-01-01 10:00:00\n"
    columns = file_columns(
        stream=io.BytesIO(csv), name="users.csv", file_settings={"content_type": "text/csv"}
    )
    assert columns == [("user_id", "integer"), ("email", "string"), ("joindate", "datetime")]
    assert feed_compare(feed=feed, columns=columns).matches
