"""Both courier editors over one stored configuration; copy, delete, detail."""

import gzip
import json
import re

import pytest

from couriers.models import Courier
from feeds.models import DataSource, Feed, FeedField

pytestmark = pytest.mark.django_db

USERS = [
    {
        "object/type": "file",
        "object/file-pattern": "'path/to/users'-YYYY-MM-dd'.avro'",
        "object/land-as": {"file/tag": "users", "file/content-type": "application/avro"},
    }
]


def legacy_post(client, url, credential, **overrides):
    data = {
        "name": "Heap users",
        "credential": credential.pk,
        "bucket": "heap-rs3-acme",
        "prefix": "",
        "entities": json.dumps(USERS),
        "load_operations": json.dumps({"df-xxxxxx": [{"type": "load", "file": "users"}]}),
        "pgp_credential": "",
    }
    data.update(overrides)
    return client.post(url, data)


def test_legacy_editor_saves_placeholder_feed_ids_and_empty_loads(analyst_client, s3_credential):
    response = legacy_post(analyst_client, "/couriers/add/?editor=legacy", s3_credential)
    courier = Courier.objects.get(name="Heap users")
    assert response.status_code == 302 and response.url == f"/couriers/{courier.pk}/"
    assert courier.load_operations == {"df-xxxxxx": [{"type": "load", "file": "users"}]}
    legacy_post(
        analyst_client, f"/couriers/{courier.pk}/edit/", s3_credential, load_operations="{}"
    )
    courier.refresh_from_db()
    assert courier.load_operations == {}


def test_legacy_editor_shows_validation_messages_under_the_field(analyst_client, s3_credential):
    entities = [
        dict(USERS[0], **{"object/land-as": {"file/tag": "users", "file/content-type": "text/xls"}})
    ]
    response = legacy_post(
        analyst_client,
        "/couriers/add/?editor=legacy",
        s3_credential,
        bucket="Bad_Bucket",
        entities=json.dumps(entities),
        load_operations='{"df-xxxxxx": [{"type": "load", "file": "user"}]}',
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "entities[0].object/land-as.file/content-type: unknown content type &quot;text/xls&quot;"
        in html
    )
    assert "no entity in the entities list has file/tag" in html
    assert "Invalid bucket name" in html
    # Each message sits with its field.
    entities_block = html[
        html.index('id="div_id_entities"') : html.index('id="div_id_load_operations"')
    ]
    assert "text/xls" in entities_block
    bad_json = legacy_post(
        analyst_client, "/couriers/add/?editor=legacy", s3_credential, entities="[{"
    )
    assert "entities list: invalid JSON at line 1" in bad_json.content.decode()
    assert not Courier.objects.exists()


def test_switching_editors_loses_nothing(analyst_client, s3_credential):
    courier = Courier.objects.create(
        name="Heap",
        credential=s3_credential,
        bucket="heap-rs3-acme",
        entities=USERS,
        load_operations={},
    )
    # Legacy → new editor, with an unsaved change.
    changed = dict(USERS[0], **{"object/optional": True})
    response = legacy_post(
        analyst_client, f"/couriers/{courier.pk}/edit/", s3_credential, name="Heap", to_wizard="1",
        entities=json.dumps([changed]), load_operations="{}",
    )  # fmt: skip
    assert response.status_code == 302
    wizard = analyst_client.get(response.url)
    assert "path/to/users" in wizard.content.decode()
    # New editor → legacy editor: the same values, still unsaved.
    legacy_url = re.search(
        r'id="legacy-link" href="([^"]+)"|href="([^"]+)" id="legacy-link"', wizard.content.decode()
    )
    legacy = analyst_client.get(next(g for g in legacy_url.groups() if g).replace("&amp;", "&"))
    assert "object/optional" in legacy.content.decode()
    courier.refresh_from_db()
    assert "object/optional" not in courier.entities[0]


def test_wizard_continue_browse_review_and_save_with_existing_feed(
    analyst_client, s3, bucket, s3_credential
):
    s3.put_object(
        Bucket=bucket, Key="in/2024/people.csv.gz", Body=gzip.compress(b"id;name\n1;Ann\n2;Bob\n")
    )
    feed = Feed.objects.create(
        data_source=DataSource.objects.create(name="CRM"), name="People", primary_key=["id"]
    )
    FeedField.objects.create(feed=feed, position=0, incoming="id", name="id", type="integer")
    FeedField.objects.create(feed=feed, position=1, incoming="name", name="name", type="string")

    start = analyst_client.get("/couriers/add/?source=s3")
    wizard_url = start.url
    bad = analyst_client.post(
        wizard_url,
        {
            "action": "continue",
            "name": "People",
            "credential": s3_credential.pk,
            "bucket": "no-such-bucket-xyz",
        },
    )
    assert bad.status_code == 400 and "No such bucket" in bad.content.decode()
    ok = analyst_client.post(
        wizard_url,
        {
            "action": "continue",
            "name": "People",
            "credential": s3_credential.pk,
            "bucket": bucket,
            "prefix": "in/",
        },
    )
    assert "Connection successful" in ok.content.decode()

    folder = analyst_client.get(wizard_url + "browse/", headers={"HX-Request": "true"})
    assert "2024/" in folder.content.decode()
    files = analyst_client.get(wizard_url + "browse/", {"prefix": "in/2024/"})
    assert "people.csv.gz" in files.content.decode()
    # Browsing above the courier's prefix stays at the prefix.
    assert "2024/" in analyst_client.get(wizard_url + "browse/", {"prefix": ""}).content.decode()

    matches = analyst_client.get(wizard_url + "pattern/", {"pattern": "'in/'yyyy'/people.csv.gz'"})
    assert "in/2024/people.csv.gz" in matches.content.decode()

    added = analyst_client.post(
        wizard_url + "review/",
        {"key": "in/2024/people.csv.gz", "tag": "people", "pattern": "'in/2024/people.csv.gz'"},
    )
    assert added.status_code == 302 and "feed/?tag=people" in added.url
    compare = analyst_client.get(wizard_url + "compare/", {"tag": "people", "feed": feed.pk})
    assert "The file matches CRM:People" in compare.content.decode()

    saved = analyst_client.post(
        added.url,
        {"tag": "people", "feed_choice": "existing", "feed": feed.pk, "load_type": "truncate"},
    )
    courier = Courier.objects.get(name="People")
    assert saved.status_code == 302 and saved.url == f"/couriers/{courier.pk}/"
    assert courier.entities[0]["object/land-as"] == {
        "file/tag": "people", "file/content-type": "text/csv", "file/header-rows": 1,
        "file/separator": ";", "file/quote": '"',
    }  # fmt: skip
    assert courier.load_operations == {
        feed.pk: [{"type": "truncate"}, {"type": "load", "file": "people"}]
    }


def test_create_new_feed_hands_over_to_add_feed_and_back(analyst_client, s3, bucket, s3_credential):
    s3.put_object(Bucket=bucket, Key="users.csv", Body=b"id,name\n1,Ann\n")
    wizard_url = analyst_client.get("/couriers/add/?source=s3").url
    analyst_client.post(
        wizard_url,
        {"action": "continue", "name": "U", "credential": s3_credential.pk, "bucket": bucket},
    )
    added = analyst_client.post(
        wizard_url + "review/", {"key": "users.csv", "tag": "users", "pattern": "'users.csv'"}
    )
    saved = analyst_client.post(
        added.url, {"tag": "users", "feed_choice": "new", "load_type": "upsert"}
    )
    courier = Courier.objects.get(name="U")
    assert saved.url.startswith(f"/feeds/add/?courier={courier.pk}&key=users.csv")
    feed = Feed.objects.create(data_source=DataSource.objects.create(name="App"), name="Users")
    attach = f"/couriers/{courier.pk}/attach-feed/"
    assert analyst_client.get(attach, {"feed": feed.pk, "tag": "users"}).status_code == 200
    analyst_client.post(attach, {"feed": feed.pk, "tag": "users", "load_type": "upsert"})
    courier.refresh_from_db()
    assert courier.load_operations == {feed.pk: [{"type": "load", "file": "users"}]}


def test_detail_copy_and_delete(analyst_client, s3_credential):
    courier = Courier.objects.create(
        name="Heap", credential=s3_credential, bucket="heap-rs3-acme", entities=USERS,
        load_operations={"df-xxxxxx": [{"type": "load", "file": "users"}]},
    )  # fmt: skip
    detail = analyst_client.get(f"/couriers/{courier.pk}/").content.decode()
    assert "path/to/users" in detail and "no such feed yet" in detail and "Pattern tester" in detail

    assert analyst_client.get(f"/couriers/{courier.pk}/copy/").status_code == 200
    assert Courier.objects.count() == 1  # GET only asks
    copied = analyst_client.post(f"/couriers/{courier.pk}/copy/")
    clone = Courier.objects.get(name="Heap (copy)")
    assert copied.url == f"/couriers/{clone.pk}/edit/" and clone.entities == USERS

    assert (
        "Delete Heap (copy)?"
        in analyst_client.get(f"/couriers/{clone.pk}/delete/").content.decode()
    )
    analyst_client.post(f"/couriers/{clone.pk}/delete/")
    assert list(Courier.objects.values_list("name", flat=True)) == ["Heap"]
