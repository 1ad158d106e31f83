"""Legal S3 keys with #, ?, %, spaces and unicode land, preview and load; an archive member
is kept apart from the key, so no separator can collide with a key."""

import importlib
import io
import zipfile

import pytest
from django.apps import apps

from couriers.models import Courier, LandedFile, LoadedObject
from feeds.samples import open_sample, sample_files
from tests.factories import domain_rows, make_feed, run_here

CSV_KEYS = [
    "exports/a#1.csv",
    "exports/what?.csv",
    "exports/with space.csv",
    "exports/ünïcödé 東京.csv",
    "exports/100%.csv",
    "exports/%23encoded%3F.csv",
]
ZIP_KEY = "exports/drop#1?.zip"
MEMBER = "in#side?.csv"
LAND_AS = {"file/tag": "people", "file/content-type": "text/csv", "file/header-rows": 1}


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(MEMBER, "id,name\n100,Zip member\n")
        z.writestr("other.txt", "not loaded")
    return out.getvalue()


@pytest.fixture
def odd_keys(s3, bucket, s3_credential):
    for i, key in enumerate(CSV_KEYS):
        s3.put_object(Bucket=bucket, Key=key, Body=f"id,name\n{i},{key}\n".encode())
    s3.put_object(Bucket=bucket, Key=ZIP_KEY, Body=zip_bytes())
    feed = make_feed("Odd", f"People {bucket}", [("id", "integer"), ("name", "string")], ["id"])
    courier = Courier.objects.create(
        name=f"Odd keys {bucket}",
        credential=s3_credential,
        bucket=bucket,
        prefix="exports/",
        entities=[
            {"object/type": "file", "object/file-pattern": "'exports/'*'.csv'",
             "object/land-as": LAND_AS},
            {"object/type": "archive", "object/file-pattern": "'exports/'*'.zip'",
             "archive/contents": {"*.csv": {"subobject/land-as": LAND_AS}}},
        ],
        load_operations={feed.pk: [{"type": "load", "file": "people"}]},
    )  # fmt: skip
    return courier, feed


@pytest.mark.django_db(transaction=True)
def test_odd_keys_land_and_load_through_a_run(odd_keys):
    courier, feed = odd_keys
    run = run_here(courier, mode="all")
    assert run.status == "succeeded", run.error
    landed = sorted(LandedFile.objects.filter(courier=courier).values_list("key", "member"))
    assert landed == sorted([(k, "") for k in CSV_KEYS] + [(ZIP_KEY, MEMBER)])
    names = {r["id"]: r["name"] for r in domain_rows(feed)}
    assert names == {**{i: key for i, key in enumerate(CSV_KEYS)}, 100: "Zip member"}
    assert (ZIP_KEY, MEMBER) in set(
        LoadedObject.objects.filter(feed=feed).values_list("key", "member")
    )
    again = run_here(courier, mode="all")
    assert again.status == "succeeded" and again.loads.get().status == "skipped"

    refs = {(r["key"], r["member"]): r for r in sample_files("landed")}
    for key in CSV_KEYS:
        stream, name = open_sample(refs[(key, "")])
        with stream:
            assert key.encode() in stream.read()
        assert name == key
    stream, name = open_sample(refs[(ZIP_KEY, MEMBER)])
    with stream:
        assert stream.read() == b"id,name\n100,Zip member\n"
    assert name == MEMBER and refs[(ZIP_KEY, MEMBER)]["name"] == MEMBER


@pytest.mark.django_db
def test_odd_keys_preview_on_the_review_page(analyst_client, odd_keys):
    courier, _ = odd_keys
    url = f"/couriers/{courier.pk}/review/"
    for key in CSV_KEYS:
        response = analyst_client.get(url, {"key": key})
        assert response.status_code == 200, (key, response.content.decode()[:2000])
        assert "id" in response.context["review"].preview.columns
        assert response.context["review"].preview.rows[0][1] == key
    member = analyst_client.get(url, {"key": ZIP_KEY, "member": MEMBER})
    assert member.status_code == 200
    assert member.context["review"].member == MEMBER
    assert member.context["review"].preview.rows[0] == ["100", "Zip member"]


@pytest.mark.django_db(transaction=True)
def test_add_feed_preselects_a_landed_member_by_key_and_member(analyst_client, odd_keys):
    courier, _ = odd_keys
    run_here(courier, mode="all", ingest_only=True)
    landed = LandedFile.objects.get(courier=courier, key=ZIP_KEY, member=MEMBER)
    response = analyst_client.get(
        "/feeds/add/", {"courier": courier.pk, "key": ZIP_KEY, "member": MEMBER}
    )
    assert response.context["form"].initial["landed_file"] == str(landed.pk)
    plain = LandedFile.objects.get(courier=courier, key="exports/a#1.csv")
    response = analyst_client.get("/feeds/add/", {"courier": courier.pk, "key": plain.key})
    assert response.context["form"].initial["landed_file"] == str(plain.pk)


@pytest.mark.django_db
def test_migration_splits_only_recorded_members(s3_credential):
    courier = Courier.objects.create(
        name="Old rows", credential=s3_credential, bucket="b", prefix="", entities=[]
    )
    old_member = LandedFile.objects.create(
        courier=courier,
        key="exports/old#1.zip#users#a.csv",
        etag="e1",
        file_settings={"content_type": "text/csv", "archive_member": "users#a.csv"},
    )
    legal_hash = LandedFile.objects.create(courier=courier, key="exports/a#1.csv", etag="e2")
    feed = make_feed("Old", "Rows", [("id", "integer")], ["id"], active=False)
    LoadedObject.objects.create(feed=feed, key="exports/old#1.zip#users#a.csv", etag="e1")
    LoadedObject.objects.create(feed=feed, key="exports/a#1.csv", etag="e2")

    migration = importlib.import_module("couriers.migrations.0005_landed_member")
    migration.split_members(apps, None)

    old_member.refresh_from_db()
    legal_hash.refresh_from_db()
    assert (old_member.key, old_member.member) == ("exports/old#1.zip", "users#a.csv")
    assert (legal_hash.key, legal_hash.member) == ("exports/a#1.csv", "")
    assert set(LoadedObject.objects.values_list("key", "member")) == {
        ("exports/old#1.zip", "users#a.csv"),
        ("exports/a#1.csv", ""),
    }
    migration.join_members(apps, None)
    old_member.refresh_from_db()
    assert (old_member.key, old_member.member) == ("exports/old#1.zip#users#a.csv", "")
