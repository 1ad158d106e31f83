"""The review page and Add Feed over HTTP with Avro files: a recursive schema is a 400 naming
the record and the field path (it was a 500), and typed columns get the new field types."""

import uuid

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import domain_connection
from couriers.models import Courier
from feeds.models import Feed
from feeds.services import feed_validate
from tests.feeds.test_avro_integrity import LINKED, TYPED, TYPED_ROW, avro

pytestmark = pytest.mark.django_db

MESSAGE = "tree.avro schema: recursive Avro schema: record Node refers to itself at field path next"
TREE = avro([{"value": 1, "next": {"value": 2, "next": None}}], LINKED)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def courier(s3_credential, bucket):
    return Courier.objects.create(
        name=f"Review {uuid.uuid4().hex[:6]}",
        credential=s3_credential,
        bucket=bucket,
        entities=[],
        load_operations={},
    )


@pytest.fixture
def source_name():
    name = f"T{uuid.uuid4().hex[:8]}"
    yield name
    with domain_connection(autocommit=True) as conn:
        for feed in Feed.objects.filter(data_source__name=name):
            table = sql.SQL("{}.{}").format(
                sql.Identifier(settings.DOMAIN_SCHEMA), sql.Identifier(feed.table_name)
            )
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))


def test_review_page_refuses_a_recursive_schema_with_a_400(analyst_client, s3, courier):
    s3.put_object(Bucket=courier.bucket, Key="in/tree.avro", Body=TREE)
    page = analyst_client.get(
        reverse("couriers:review", args=[courier.pk]), {"key": "in/tree.avro"}
    )
    assert page.status_code == 400
    assert MESSAGE in page.content.decode()
    panel = analyst_client.get(
        reverse("couriers:review_preview", args=[courier.pk]), {"key": "in/tree.avro"}
    )
    assert panel.status_code == 400
    assert MESSAGE in panel.content.decode()


def add_feed(client, source_name, name, file_name, data):
    return client.post(
        reverse("feeds:add"),
        {"data_source": "", "new_data_source": source_name, "name": name, "sample": "upload",
         "sample_file": SimpleUploadedFile(file_name, data)},
    )  # fmt: skip


def test_add_feed_refuses_a_recursive_schema_with_a_400(analyst_client, source_name):
    response = add_feed(analyst_client, source_name, "Tree", "tree.avro", TREE)
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert not Feed.objects.filter(data_source__name=source_name).exists()


def test_add_feed_suggests_the_typed_field_types_and_the_editor_offers_them(
    analyst_client, source_name
):
    response = add_feed(
        analyst_client, source_name, "Typed", "typed.avro", avro([TYPED_ROW], TYPED)
    )
    assert response.status_code == 302
    feed = Feed.objects.get(data_source__name=source_name, name="Typed")
    assert [(f.name, f.type, f.precision, f.scale) for f in feed.fields.all()] == [
        ("id", "integer", None, None),
        ("raw", "bytes", None, None),
        ("maybe_raw", "bytes", None, None),
        ("address", "json", None, None),
        ("props", "json", None, None),
        ("opens", "time", None, None),
        ("closes", "time", None, None),
        ("local", "timestamp", None, None),
        ("local_ms", "timestamp", None, None),
        ("amount", "decimal", 40, 5),
    ]
    editor = analyst_client.get(reverse("feeds:edit", args=[feed.pk])).content.decode()
    for value, label in [("bytes", "Bytes"), ("json", "JSON"), ("time", "Time"),
                         ("timestamp", "Timestamp (no zone)")]:  # fmt: skip
        assert f'<option value="{value}"' in editor and f">{label}</option>" in editor
    feed.primary_key = ["raw"]
    feed.save()
    assert (
        'The primary key field "raw" is Bytes, which cannot be part of a primary key: choose '
        "another field." in feed_validate(feed)
    )
