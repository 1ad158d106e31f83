"""The editors only ever add load operations, show the result before saving, and remove one only
when asked; replacing an entity is said, not done silently."""

import gzip
import html
import json
import re

import pytest

from couriers.models import Courier
from feeds.models import DataSource, Feed, FeedField

pytestmark = pytest.mark.django_db


@pytest.fixture
def people_feed():
    feed = Feed.objects.create(
        data_source=DataSource.objects.create(name="CRM"), name="People", primary_key=["id"]
    )
    FeedField.objects.create(feed=feed, position=0, incoming="id", name="id", type="integer")
    FeedField.objects.create(feed=feed, position=1, incoming="name", name="name", type="string")
    return feed


def text(response):
    return " ".join(html.unescape(response.content.decode()).split())


def shown_json(response):
    """The load operations the page shows, as JSON."""
    pre = re.search(r'id="load-operations-preview">(.*?)</pre>', response.content.decode(), re.S)
    return json.loads(html.unescape(pre.group(1)))


def review_file(client, wizard_url, key, tag, pattern):
    added = client.post(wizard_url + "review/", {"key": key, "tag": tag, "pattern": pattern})
    assert added.status_code == 302, added.content.decode()[:2000]
    return added


def test_use_existing_feed_adds_a_second_file_beside_the_first(
    analyst_client, s3, bucket, s3_credential, people_feed
):
    for name in ("people", "staff"):
        body = gzip.compress(b"id;name\n1;Ann\n2;Bob\n")
        s3.put_object(Bucket=bucket, Key=f"in/{name}.csv.gz", Body=body)
    courier = Courier.objects.create(
        name="People", credential=s3_credential, bucket=bucket, prefix="in/",
        entities=[{"object/type": "file", "object/file-pattern": "'in/people.csv.gz'",
                   "object/land-as": {"file/tag": "people", "file/content-type": "text/csv",
                                      "file/header-rows": 1, "file/separator": ";"}}],
        load_operations={people_feed.pk: [{"type": "load", "file": "people"}]},
    )  # fmt: skip
    wizard_url = analyst_client.get(f"/couriers/{courier.pk}/edit/new-editor/").url
    added = review_file(analyst_client, wizard_url, "in/staff.csv.gz", "staff", "'in/staff.csv.gz'")

    # Before saving, the step shows the load operations the choice would give.
    response = analyst_client.get(
        wizard_url + "feed/preview/",
        {"tag": "staff", "feed_choice": "existing", "feed": people_feed.pk, "load_type": "upsert"},
    )
    preview = text(response)
    after = {
        people_feed.pk: [{"type": "load", "file": "people"}, {"type": "load", "file": "staff"}]
    }
    assert shown_json(response) == after
    assert "Adds: load “staff” into CRM:People, beside “people”." in preview
    assert 'id="load-operations-preview"' in text(analyst_client.get(added.url))

    saved = analyst_client.post(
        added.url,
        {"tag": "staff", "feed_choice": "existing", "feed": people_feed.pk, "load_type": "upsert"},
    )
    assert saved.status_code == 302
    courier.refresh_from_db()
    assert courier.load_operations == after


def test_choosing_truncate_for_a_feed_that_loads_another_file_says_what_it_does(
    analyst_client, s3_credential, people_feed
):
    courier = Courier.objects.create(
        name="People", credential=s3_credential, bucket="people-bucket",
        entities=[{"object/type": "file", "object/file-pattern": "'a.csv'",
                   "object/land-as": {"file/tag": "people"}},
                  {"object/type": "file", "object/file-pattern": "'b.csv'",
                   "object/land-as": {"file/tag": "staff"}}],
        load_operations={people_feed.pk: [{"type": "load", "file": "people"}]},
    )  # fmt: skip
    attach = f"/couriers/{courier.pk}/attach-feed/"
    page = text(
        analyst_client.get(
            attach, {"feed": people_feed.pk, "tag": "staff", "load_type": "truncate"}
        )
    )
    assert (
        "Adds truncate: every run replaces CRM:People with the rows of the files it loads "
        "(“people”, “staff”)."
    ) in page
    assert '"type": "truncate"' in page
    done = analyst_client.post(
        attach, {"feed": people_feed.pk, "tag": "staff", "load_type": "truncate"}, follow=True
    )
    courier.refresh_from_db()
    assert courier.load_operations == {
        people_feed.pk: [
            {"type": "truncate"},
            {"type": "load", "file": "people"},
            {"type": "load", "file": "staff"},
        ]
    }
    assert "Adds truncate" in text(done)

    # Upsert chosen later does not quietly drop the truncate: it is kept, and said.
    page = text(
        analyst_client.get(attach, {"feed": people_feed.pk, "tag": "staff", "load_type": "upsert"})
    )
    assert "CRM:People already loads “staff”: unchanged." in page
    assert "CRM:People keeps its truncate" in page


def test_removing_a_load_operation_is_an_explicit_confirmed_action(
    analyst_client, s3_credential, people_feed
):
    ops = {people_feed.pk: [{"type": "truncate"}, {"type": "load", "file": "people"},
                            {"type": "load", "file": "staff"}]}  # fmt: skip
    courier = Courier.objects.create(
        name="People", credential=s3_credential, bucket="people-bucket",
        entities=[{"object/type": "file", "object/file-pattern": "'a.csv'",
                   "object/land-as": {"file/tag": "people"}},
                  {"object/type": "file", "object/file-pattern": "'b.csv'",
                   "object/land-as": {"file/tag": "staff"}}],
        load_operations=ops,
    )  # fmt: skip
    detail = analyst_client.get(f"/couriers/{courier.pk}/").content.decode()
    assert "Remove load “staff” from CRM:People?" in html.unescape(detail)  # the confirmation
    remove = f"/couriers/{courier.pk}/load-operations/remove/"
    op = json.dumps({"type": "load", "file": "staff"})
    done = analyst_client.post(remove, {"feed": people_feed.pk, "op": op}, follow=True)
    assert "Removed load “staff” from CRM:People." in text(done)
    courier.refresh_from_db()
    assert courier.load_operations == {
        people_feed.pk: [{"type": "truncate"}, {"type": "load", "file": "people"}]
    }
    stale = analyst_client.post(remove, {"feed": people_feed.pk, "op": op})
    assert stale.status_code == 409
    assert "no longer in the load operations" in text(stale)
    analyst_client.post(remove, {"feed": people_feed.pk, "op": json.dumps(ops[people_feed.pk][1])})
    courier.refresh_from_db()
    assert courier.load_operations == {}  # a truncate alone loads nothing: the feed is dropped


def test_reviewing_a_file_under_a_tag_in_use_says_it_replaces_that_entity(
    analyst_client, s3, bucket, s3_credential
):
    s3.put_object(Bucket=bucket, Key="old.csv", Body=b"id,name\n1,Ann\n")
    s3.put_object(Bucket=bucket, Key="new.csv", Body=b"id,name\n1,Ann\n")
    wizard_url = analyst_client.get("/couriers/add/?source=s3").url
    analyst_client.post(
        wizard_url,
        {"action": "continue", "name": "U", "credential": s3_credential.pk, "bucket": bucket},
    )
    first = review_file(analyst_client, wizard_url, "old.csv", "users", "'old.csv'")
    assert "replaces the entity" not in text(analyst_client.get(first.url))
    second = review_file(analyst_client, wizard_url, "new.csv", "users", "'new.csv'")
    page = text(analyst_client.get(second.url))
    assert "This replaces the entity for tag users: 'old.csv' (now 'new.csv')." in page
