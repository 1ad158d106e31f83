"""A courier touches only keys under its bucket and prefix: browse, review, preview, runs."""

from urllib.parse import quote

import pytest

from couriers.landing import land_reviewed_file
from couriers.models import Courier, LandedFile
from couriers.s3 import KeyOutOfScope, S3File
from feeds.samples import SampleError, open_sample
from tests.factories import run_here

pytestmark = pytest.mark.django_db

SECRET = b"id,password\n1,hunter2\n"
OUTSIDE = [
    "other/secret.csv",
    "heapother/secret.csv",  # shares the prefix's letters, not its folder
    "/other/secret.csv",
    "../other/secret.csv",
    "heap/../other/secret.csv",
    "heap/./../other/secret.csv",
]


@pytest.fixture
def courier(s3, bucket, s3_credential):
    s3.put_object(Bucket=bucket, Key="heap/users.csv", Body=b"id,name\n1,Ann\n")
    for key in ("other/secret.csv", "heapother/secret.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=SECRET)
    return Courier.objects.create(
        name="Confined", credential=s3_credential, bucket=bucket, prefix="heap/", entities=[]
    )


def refused(response, key: str) -> bool:
    body = response.content.decode()
    return (
        400 <= response.status_code < 500
        and "hunter2" not in body
        and f"the key {key} is outside this courier&#x27;s prefix heap/" in body
    )


def test_review_and_preview_refuse_keys_outside_the_prefix(analyst_client, courier):
    inside = analyst_client.get(f"/couriers/{courier.pk}/review/", {"key": "heap/users.csv"})
    assert inside.status_code == 200 and "Ann" in inside.content.decode()
    for key in OUTSIDE:
        review = analyst_client.get(f"/couriers/{courier.pk}/review/", {"key": key})
        assert review.status_code == 403 and refused(review, key), key
        preview = analyst_client.get(
            f"/couriers/{courier.pk}/review/preview/", {"key": key}, headers={"HX-Request": "true"}
        )
        assert preview.status_code == 403 and refused(preview, key), key


def test_url_encoded_tricks_are_refused(analyst_client, courier):
    url = f"/couriers/{courier.pk}/review/"
    # %2F and %2e decoded once by the server: heap/../other/secret.csv
    encoded = analyst_client.get(url + "?key=heap%2F%2e%2e%2Fother%2Fsecret.csv")
    assert refused(encoded, "heap/../other/secret.csv")
    # Encoded twice: the key is literally "heap/%2e%2e/other/secret.csv", a missing object.
    twice = analyst_client.get(url + "?key=" + quote("heap/%2e%2e/other/secret.csv", safe=""))
    assert twice.status_code == 400 and "hunter2" not in twice.content.decode()
    assert "Missing file" in twice.content.decode()


def test_browse_refuses_a_prefix_outside_the_courier_prefix(analyst_client, courier):
    url = f"/couriers/{courier.pk}/browse/"
    inside = analyst_client.get(url, {"prefix": "heap/"})
    assert inside.status_code == 200 and "users.csv" in inside.content.decode()
    assert "users.csv" in analyst_client.get(url).content.decode()  # no prefix: the courier's
    for prefix in ("other/", "heapother/", "/", "heap/../other/"):
        response = analyst_client.get(url, {"prefix": prefix}, headers={"HX-Request": "true"})
        body = response.content.decode()
        assert response.status_code == 403, prefix
        assert f"the prefix {prefix} is outside this courier&#x27;s prefix heap/" in body
        assert "secret.csv" not in body


def test_pattern_tester_finds_nothing_outside_the_prefix(analyst_client, courier):
    response = analyst_client.get(
        f"/couriers/{courier.pk}/pattern/", {"pattern": "'other/secret.csv'"}
    )
    assert response.status_code == 200
    assert 'class="pattern-match"' not in response.content.decode()


def test_new_editor_scope_is_the_drafts_bucket_and_prefix(analyst_client, courier):
    draft_url = analyst_client.get(f"/couriers/{courier.pk}/edit/new-editor/").url
    inside = analyst_client.get(draft_url + "review/", {"key": "heap/users.csv"})
    assert inside.status_code == 200
    outside = analyst_client.get(draft_url + "review/", {"key": "other/secret.csv"})
    assert outside.status_code == 403 and refused(outside, "other/secret.csv")
    added = analyst_client.post(
        draft_url + "review/",
        {"key": "other/secret.csv", "tag": "secret", "pattern": "'other/secret.csv'"},
    )
    assert added.status_code == 403 and refused(added, "other/secret.csv")


def test_a_reviewed_file_outside_the_prefix_is_not_landed(s3, courier):
    from credentials.services import s3_client

    with pytest.raises(KeyOutOfScope) as refused_landing:
        land_reviewed_file(
            courier=courier,
            client=s3_client(courier.credential),
            key="other/secret.csv",
            tag="secret",
            settings={},
        )
    assert str(refused_landing.value.problem).startswith(
        "the key other/secret.csv is outside this courier's prefix heap/"
    )
    assert not LandedFile.objects.filter(courier=courier).exists()


def test_a_landed_file_left_outside_a_changed_prefix_is_not_read(courier):
    from couriers.landing import land_object
    from couriers.samples import list_landed_files

    land_object(
        courier=courier,
        obj=S3File("heap/users.csv", 14, None, "e"),
        land_as={"file/tag": "users", "file/content-type": "text/csv"},
    )
    Courier.objects.filter(pk=courier.pk).update(prefix="elsewhere/")
    ref = {**list_landed_files()[0], "kind": "landed"}
    with pytest.raises(SampleError, match="outside this courier's prefix elsewhere/"):
        open_sample(ref)


@pytest.mark.django_db(transaction=True)
def test_a_run_never_lands_keys_outside_the_prefix(s3, bucket, s3_credential):
    for key in ("heap/users.csv", "other/users.csv"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"id,name\n1,Ann\n")
    courier = Courier.objects.create(
        name="Run scope",
        credential=s3_credential,
        bucket=bucket,
        prefix="heap/",
        entities=[
            {
                "object/type": "file",
                "object/file-pattern": "*'/users.csv'",
                "object/land-as": {"file/tag": "users", "file/content-type": "text/csv"},
            }
        ],
    )
    run = run_here(courier, mode="all", ingest_only=True)
    assert run.status == "succeeded", run.error
    assert list(LandedFile.objects.filter(courier=courier).values_list("key", flat=True)) == [
        "heap/users.csv"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_file_pattern_lies_outside_the_prefix_names_both(s3, bucket, s3_credential):
    """Not "no object matches": the pattern can never match under the prefix, so say why."""
    s3.put_object(Bucket=bucket, Key="other/users.csv", Body=b"id,name\n1,Ann\n")
    courier = Courier.objects.create(
        name="Pattern scope",
        credential=s3_credential,
        bucket=bucket,
        prefix="heap/",
        entities=[
            {
                "object/type": "file",
                "object/file-pattern": "'other/users.csv'",
                "object/land-as": {"file/tag": "users", "file/content-type": "text/csv"},
            }
        ],
    )
    run = run_here(courier, mode="all", ingest_only=True)
    assert run.status == "failed"
    assert run.error.startswith(
        "entities[0]: the file pattern other/users.csv is outside this courier's prefix heap/"
    )
    assert not LandedFile.objects.filter(courier=courier).exists()


def test_saving_a_draft_whose_prefix_moved_away_from_the_reviewed_file(
    analyst_client, s3, bucket, s3_credential
):
    s3.put_object(Bucket=bucket, Key="users.csv", Body=b"id,name\n1,Ann\n")
    wizard_url = analyst_client.get("/couriers/add/?source=s3").url
    source = {"action": "continue", "name": "Moved", "credential": s3_credential.pk}
    analyst_client.post(wizard_url, {**source, "bucket": bucket})
    added = analyst_client.post(
        wizard_url + "review/", {"key": "users.csv", "tag": "users", "pattern": "'users.csv'"}
    )
    analyst_client.post(wizard_url, {**source, "bucket": bucket, "prefix": "in/"})
    saved = analyst_client.post(
        added.url, {"tag": "users", "feed_choice": "new", "load_type": "upsert"}
    )
    body = saved.content.decode()
    assert saved.status_code == 400
    assert "the key users.csv is outside this courier&#x27;s prefix in/" in body
    assert not LandedFile.objects.filter(key="users.csv").exists()


def test_heap_manifests_naming_files_outside_the_prefix_are_refused(s3, bucket, s3_credential):
    import json

    from couriers.heap.discovery import DiscoveryError, heap_discover
    from credentials.services import s3_client

    manifest = {
        "dump_id": 1,
        "tables": [
            {"name": "users", "columns": ["user_id"], "incremental": False,
             "files": [f"s3://{bucket}/other/sync_1/users/part-00000.avro"]},
        ],
    }  # fmt: skip
    s3.put_object(Bucket=bucket, Key="heap/manifests/sync_1.json", Body=json.dumps(manifest))
    with pytest.raises(DiscoveryError) as refused_discovery:
        heap_discover(s3_client(s3_credential), bucket, "heap/")
    assert (
        "heap/manifests/sync_1.json (users): the key other/sync_1/users/part-00000.avro is "
        "outside this courier's prefix heap/"
    ) in str(refused_discovery.value)
