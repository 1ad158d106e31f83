"""Reading a Heap bucket (manifests, tables, types, estimates) and creating its feeds."""

import json

import pytest
from django.urls import reverse

from couriers.heap.discovery import heap_discover
from couriers.heap.manifests import ManifestError, manifest_parse
from couriers.heap.setup import heap_feeds
from credentials.services import s3_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_lists_every_table_with_types_from_the_avro_schema(heap_export, heap_credential):
    found = heap_discover(s3_client(heap_credential), heap_export.bucket)
    assert found.dump_ids == heap_export.spec.dump_ids
    assert [t.name for t in found.tables] == [
        "users", "sessions", "pageviews", "user_migrations", "checkout_completed",
        "sign_up_click_link",
    ]  # fmt: skip
    users = found.table("users")
    types = {c.name: c.type for c in users.columns}
    assert types["user_id"] == "integer" and types["joindate"] == "datetime"
    assert "initial_utm_source" in types  # the latest dump's schema
    checkout = {c.name: c.type for c in found.table("checkout_completed").columns}
    assert checkout["time"] == "datetime"  # ISO strings in an Avro string column
    assert checkout["revenue"] == "float"
    # Sessions: estimated from its last full sync (dump 852) onwards.
    last_dumps = heap_export.dumps[2:]
    actual = sum(d.tables["sessions"].rows for d in last_dumps)
    assert 0.5 * actual < found.table("sessions").rows_estimate < 1.5 * actual


def test_created_feeds_carry_keys_tags_last_updated_and_stitch(heap_courier):
    feeds = heap_feeds(heap_courier)
    assert heap_courier.kind == "heap"
    assert {t: f.primary_key for t, f in feeds.items()} == {
        "users": ["user_id"], "sessions": ["session_id"], "pageviews": ["event_id"],
        "sign_up_click_link": ["event_id"], "checkout_completed": ["event_id"],
        "user_migrations": ["from_user_id"],
    }  # fmt: skip
    users = feeds["users"]
    assert users.table_name == "Heap:Users" and users.stitch
    assert users.last_updated_field == "last_modified"
    tags = {f.name: f.semantic_tag for f in users.fields.all()}
    assert tags["user_id"] == "pk" and tags["email"] == "email"
    assert tags["joindate"] == "create-dt" and tags["last_modified"] == "update-dt"
    pageview_tags = {f.name: f.semantic_tag for f in feeds["pageviews"].fields.all()}
    assert pageview_tags["user_id"] == "fk-heap-user" and pageview_tags["title"] == ""
    assert not feeds["pageviews"].stitch
    assert heap_courier.load_operations[users.pk] == [{"type": "load", "file": "users"}]


@pytest.mark.parametrize(
    "doc, problem",
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"tables": []}).encode(), "dump_id must be a number"),
        (
            json.dumps(
                {"dump_id": 1, "tables": [{"name": "users", "incremental": "yes"}]}
            ).encode(),
            "incremental must be true or false",
        ),
        (
            json.dumps(
                {"dump_id": 1, "tables": [{"name": "users", "files": ["s3://other/x.avro"]}]}
            ).encode(),
            "is in bucket other, not heap",
        ),
        (
            json.dumps(
                {"dump_id": 1, "tables": [{"name": "users", "columns": [], "files": []}]}
            ).encode(),
            r"tables\[0\] \(users\): lists no columns",
        ),
        (
            json.dumps({"dump_id": 1, "tables": [{"name": "users", "files": []}]}).encode(),
            r"tables\[0\] \(users\): lists no columns",
        ),
    ],
)
def test_a_bad_manifest_is_named_with_its_problem(doc, problem):
    with pytest.raises(ManifestError, match=problem) as info:
        manifest_parse(doc, key="manifests/sync_1.json", bucket="heap")
    assert str(info.value).startswith("manifests/sync_1.json")


def test_connect_form_says_what_is_wrong_next_to_the_field(
    analyst_client, s3, bucket, heap_credential
):
    url = reverse("couriers:heap_add")
    base = {"name": "Heap", "credential": heap_credential.pk, "data_source": "Heap"}
    response = analyst_client.post(url, {**base, "bucket": bucket, "action": "continue"})
    assert response.status_code == 400
    assert "No Heap manifests under s3://" in response.content.decode()
    response = analyst_client.post(url, {**base, "bucket": "Bad_Bucket", "action": "continue"})
    assert response.status_code == 400
    assert response.context["form"].errors["bucket"]
