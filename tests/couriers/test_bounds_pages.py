"""Archives zipfile cannot read, on the pages that read them: a 400 with the message, no 500."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from couriers.models import Courier
from feeds.models import Feed
from tests.bad_archives import encrypted_member_zip, lying_size_zip, zstd_member_zip

pytestmark = pytest.mark.django_db

BAD_ZIPS = [
    (encrypted_member_zip, "member data.csv is encrypted: not supported"),
    (zstd_member_zip, "member data.csv uses zstd compression (method 93), which is not supported"),
    (lying_size_zip, "member data.csv is corrupt: its size does not match its header"),
]


@pytest.fixture
def courier(s3_credential, bucket):
    return Courier.objects.create(
        name="Bounds review", credential=s3_credential, bucket=bucket, entities=[],
        load_operations={},
    )  # fmt: skip


@pytest.mark.parametrize(("archive", "expected"), BAD_ZIPS)
def test_the_review_page_says_what_is_wrong_with_the_member(
    analyst_client, s3, courier, archive, expected
):
    s3.put_object(Bucket=courier.bucket, Key="drop/export.zip", Body=archive())
    page = analyst_client.get(f"/couriers/{courier.pk}/review/", {"key": "drop/export.zip"})
    assert page.status_code == 400
    assert f"drop/export.zip: {expected}" in html.unescape(page.content.decode())


@pytest.mark.parametrize(("archive", "expected"), BAD_ZIPS)
def test_the_add_feed_page_says_what_is_wrong_with_the_uploaded_member(
    analyst_client, archive, expected
):
    response = analyst_client.post(reverse("feeds:add"), {
        "data_source": "", "new_data_source": "Bounds", "name": "Upload",
        "sample": "upload", "sample_file": SimpleUploadedFile("export.zip", archive()),
    })  # fmt: skip
    assert response.status_code == 400
    assert f"export.zip: {expected}" in html.unescape(response.content.decode())
    assert not Feed.objects.filter(data_source__name="Bounds").exists()
