"""Hostile files on the pages that read a user's file (Review file, Add Feed): a 4xx that says
what is wrong with which file, never a 500."""

import gzip
import io
import logging
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

import feeds.readers
from couriers import review as couriers_review
from couriers.models import Courier

pytestmark = pytest.mark.django_db


def _parquet() -> bytes:
    out = io.BytesIO()
    table = pa.table({"id": list(range(2000)), "name": [f"n{i}" for i in range(2000)]})
    pq.write_table(table, out, row_group_size=500)
    return out.getvalue()


def _hostile() -> dict[str, bytes]:
    noise = random.Random(7).randbytes(8192)
    parquet = _parquet()
    rows = b"".join(b"%d,%s\n" % (i, noise[i * 8 : i * 8 + 8].hex().encode()) for i in range(60))
    cut = gzip.compress(b"id,name\n" + rows)
    return {
        "cut.csv.gz": cut[: len(cut) // 2],  # the preview reaches the cut
        "drop.zip": b"PK\x03\x04" + noise[:600],
        "noise.zip": noise[:700],
        "users.avro": noise,
        "magic.avro": b"Obj\x01" + noise[:3000],
        "half.parquet": parquet[: len(parquet) // 2],
        "hollow.parquet": b"PAR1" + noise[:2000] + parquet[-200:],
        "gz.csv.gz": b"\x1f\x8b\x08\x00" + noise[:500],
    }


HOSTILE = _hostile()


@pytest.fixture
def client_500(analyst):
    """A signed-in client that returns a 500 as a response instead of raising it."""
    client = Client(raise_request_exception=False)
    client.force_login(analyst)
    return client


@pytest.fixture
def courier(s3, bucket, s3_credential):
    for name, data in HOSTILE.items():
        s3.put_object(Bucket=bucket, Key=f"in/{name}", Body=data)
    return Courier.objects.create(
        name="Hostile", credential=s3_credential, bucket=bucket, prefix="in/", entities=[]
    )


def add_feed(client, name: str, data: bytes):
    return client.post(
        "/feeds/add/",
        {
            "data_source": "",
            "new_data_source": "Hostile",
            "name": name.replace(".", "_"),
            "sample": "upload",
            "sample_file": SimpleUploadedFile(name, data),
        },
    )


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_review_page_says_what_is_wrong(client_500, courier, name):
    response = client_500.get(f"/couriers/{courier.pk}/review/", {"key": f"in/{name}"})
    error = response.context["review"].error if response.context else ""
    assert response.status_code in (400, 422), (response.status_code, error)
    assert name in error or error.startswith("This file cannot be read: "), error
    assert error in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_add_feed_says_what_is_wrong(client_500, name):
    response = add_feed(client_500, name, HOSTILE[name])
    assert response.status_code in (400, 422), response.status_code
    form = response.context["form"]
    message = " ".join(form.errors.get("sample_file", []))
    assert name in message or message.startswith("This file cannot be read: "), message


def _boom(*args, **kwargs):
    raise RuntimeError("a bug the readers did not foresee")


def test_an_unexpected_reader_exception_is_a_422_with_the_traceback_logged(
    client_500, courier, s3, bucket, monkeypatch, caplog
):
    # A fault no real file reliably causes any more: a reader raising something unexpected.
    s3.put_object(Bucket=bucket, Key="in/fine.csv", Body=b"id,name\n1,Ann\n")
    monkeypatch.setattr(couriers_review, "preview", _boom)
    with caplog.at_level(logging.ERROR):
        response = client_500.get(f"/couriers/{courier.pk}/review/", {"key": "in/fine.csv"})
    message = "This file cannot be read: RuntimeError: a bug the readers did not foresee"
    assert response.status_code == 422 and message in response.content.decode()
    assert any(r.exc_info and "in/fine.csv" in r.getMessage() for r in caplog.records)

    monkeypatch.setattr(feeds.readers, "infer_settings", _boom)
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        response = add_feed(client_500, "fine.csv", b"id,name\n1,Ann\n")
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors["sample_file"])
    assert any(r.exc_info and "fine.csv" in r.getMessage() for r in caplog.records)
