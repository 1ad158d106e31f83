"""Bad text files on the pages (4xx with the message, never a 500) and in a load (exact values,
or rejected rows naming row and field). Real Postgres, S3 over HTTP."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from psycopg import sql

from amperity_sources.db import domain_connection
from couriers.models import Courier
from feeds.loader import FieldSpec, LoadRejected, SourceFile, TableSpec, drop_table, load
from feeds.models import Feed
from feeds.readers import FileSettings, open_reader, preview

DEEP = ('{"id": 1, "x": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000 + "}\n").encode()
SURROGATE = b'{"id": 1, "name": "Ann"}\n{"id": 2, "name": "A\\ud800"}\n'
LONG_NAME = ("id," + "n" * 250 + "\n1,2\n").encode()

BAD_FILES = [
    pytest.param("deep.ndjson", DEEP, "SOURCES_MAX_JSON_DEPTH", id="json-10000-deep"),
    pytest.param("lone.ndjson", SURROGATE, "line 2, key", id="lone-surrogate"),
    pytest.param("wide.csv", LONG_NAME, "is 250 characters long", id="column-name-250-chars"),
]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.django_db
@pytest.mark.parametrize("name, body, message", BAD_FILES)
def test_review_page_shows_the_reader_error_as_a_400(
    analyst_client, s3, bucket, s3_credential, name, body, message
):
    s3.put_object(Bucket=bucket, Key=f"in/{name}", Body=body)
    courier = Courier.objects.create(
        name="Trust", credential=s3_credential, bucket=bucket, entities=[], load_operations={}
    )
    for view in ("couriers:review", "couriers:review_preview"):
        response = analyst_client.get(reverse(view, args=[courier.pk]), {"key": f"in/{name}"})
        assert response.status_code == 400, view
        page = response.content.decode()
        assert f"in/{name}" in page and message in page, view


@pytest.mark.django_db
@pytest.mark.parametrize("name, body, message", BAD_FILES)
def test_add_feed_shows_the_reader_error_as_a_400(analyst_client, name, body, message):
    source = f"T{uuid.uuid4().hex[:8]}"
    response = analyst_client.post(
        reverse("feeds:add"),
        {
            "data_source": "",
            "new_data_source": source,
            "name": "Users",
            "sample": "upload",
            "sample_file": SimpleUploadedFile(name, body),
            "load_sample_on_activation": "on",
        },
    )
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["sample_file"])
    assert not Feed.objects.filter(data_source__name=source).exists()


@pytest.mark.django_db
def test_review_and_add_feed_show_renamed_header_names(analyst_client, s3, bucket, s3_credential):
    body = b"id,email,,email\n1,a@x.io,7,b@x.io\n"
    s3.put_object(Bucket=bucket, Key="dup.csv", Body=body)
    courier = Courier.objects.create(
        name="Dup", credential=s3_credential, bucket=bucket, entities=[], load_operations={}
    )
    page = analyst_client.get(reverse("couriers:review", args=[courier.pk]), {"key": "dup.csv"})
    assert page.status_code == 200
    assert "it is read as email_2" in page.content.decode()
    source = f"T{uuid.uuid4().hex[:8]}"
    analyst_client.post(
        reverse("feeds:add"),
        {
            "data_source": "",
            "new_data_source": source,
            "name": "Users",
            "sample": "upload",
            "sample_file": SimpleUploadedFile("dup.csv", body),
        },
    )
    feed = Feed.objects.get(data_source__name=source)
    assert [f.incoming for f in feed.fields.all()] == ["id", "email", "column_3", "email_2"]
    editor = analyst_client.get(reverse("feeds:edit", args=[feed.pk])).content.decode()
    assert "it is read as column_3" in editor


# --- loads: exact values, or rejected rows with row and field ------------------------------------


@pytest.fixture
def conn():
    with domain_connection(autocommit=True) as c:
        yield c


@pytest.fixture
def numbers(conn):
    spec = TableSpec(
        schema="domain_test",
        table=f"Trust:{uuid.uuid4().hex[:12]}",
        fields=[
            FieldSpec("id", "id", "integer"),
            FieldSpec("big", "big", "integer"),
            FieldSpec("huge", "huge", "decimal"),  # unconstrained numeric
            FieldSpec("amount", "amount", "decimal", precision=38, scale=2),
            FieldSpec("ratio", "ratio", "float"),
        ],
        primary_key=["id"],
        error_threshold=100,
    )
    yield spec
    drop_table(conn, spec)


def stored(conn, spec) -> list[tuple]:
    query = sql.SQL("SELECT id, big, huge::text, amount, ratio FROM {}.{} ORDER BY id").format(
        sql.Identifier(spec.schema), sql.Identifier(spec.table)
    )
    return conn.execute(query).fetchall()


CSV_NUMBERS = (
    b"id,big,huge,amount,ratio\n"
    b"1,9007199254740993,123456789012345678901234567890,123456789012345678901234567890123456.78,0.5\n"
    b"2,9223372036854775807,1e400,0.01,NaN\n"
    b"3,NaN,1,1,1\n"
    b"4,1,Infinity,1,1\n"
    b"5,1,1,1e400,1\n"
    b"6,1,1,1,1e400\n"
    b"7,1e400,1,1,1\n"
    b"8,1,1,1,-Infinity\n"
)


@pytest.mark.django_db(transaction=True)
def test_numbers_load_exactly_and_non_finite_values_are_rejected(conn, numbers):
    reader = open_reader(io.BytesIO(CSV_NUMBERS), "n.csv", FileSettings("text/csv"))
    result = load(conn, numbers, [SourceFile("n.csv", reader.batches)])
    rows = stored(conn, numbers)
    assert rows[0] == (
        1,
        9007199254740993,
        "123456789012345678901234567890",
        Decimal("123456789012345678901234567890123456.78"),
        0.5,
    )
    assert rows[1][:4] == (2, 9223372036854775807, "1" + "0" * 400, Decimal("0.01"))
    assert rows[1][4] != rows[1][4]  # NaN in a float field is a value the file holds
    assert rows[2:] == [(8, 1, "1", Decimal("1.00"), float("-inf"))]
    rejects = {(r.row, r.field): r.reason for r in result.rejects}
    assert set(rejects) == {(3, "big"), (4, "huge"), (5, "amount"), (6, "ratio"), (7, "big")}
    assert "only be loaded into a float field" in rejects[(3, "big")]
    assert "only be loaded into a float field" in rejects[(4, "huge")]
    assert "out of range for a float" in rejects[(6, "ratio")]
    assert str(result.rejects[0]).startswith('n.csv row 3, field big: "NaN"')


@pytest.mark.django_db(transaction=True)
def test_inferred_types_load_the_big_numbers_exactly(conn):
    """Inference → load: what the preview infers stores every digit."""
    data = (
        b"id,amount,count\n"
        b"1,123456789012345678901234567890123456.78,9007199254740993\n"
        b"2,0.5,99999999999999999999999\n"
    )
    shown = preview(io.BytesIO(data), "i.csv", FileSettings("text/csv"))
    fields = [
        FieldSpec(f.name, f.name, f.type, precision=f.precision, scale=f.scale)
        for f in shown.fields
    ]
    assert [(f.type, f.precision, f.scale) for f in fields] == [
        ("integer", None, None),
        ("decimal", 38, 2),
        ("decimal", None, None),
    ]
    spec = TableSpec(
        schema="domain_test", table=f"Trust:{uuid.uuid4().hex[:12]}", fields=fields,
        primary_key=["id"], error_threshold=0,
    )  # fmt: skip
    try:
        reader = open_reader(io.BytesIO(data), "i.csv", FileSettings("text/csv"))
        load(conn, spec, [SourceFile("i.csv", reader.batches)])
        query = sql.SQL("SELECT amount::text, count::text FROM {}.{} ORDER BY id").format(
            sql.Identifier(spec.schema), sql.Identifier(spec.table)
        )
        assert conn.execute(query).fetchall() == [
            ("123456789012345678901234567890123456.78", "9007199254740993"),
            ("0.50", "99999999999999999999999"),
        ]
    finally:
        drop_table(conn, spec)


@pytest.mark.django_db(transaction=True)
def test_nul_bytes_reject_the_row_naming_row_and_field(conn):
    spec = TableSpec(
        schema="domain_test", table=f"Trust:{uuid.uuid4().hex[:12]}",
        fields=[FieldSpec("id", "id", "integer"), FieldSpec("name", "name", "string")],
        primary_key=["id"], error_threshold=0,
    )  # fmt: skip
    data = b"id,name\n1,Ann\n2,B\x00b\n"
    reader = open_reader(io.BytesIO(data), "nul.csv", FileSettings("text/csv"))
    try:
        with pytest.raises(LoadRejected) as e:
            load(conn, spec, [SourceFile("nul.csv", reader.batches)])
        assert str(e.value.result.rejects[0]).startswith("nul.csv row 2, field name:")
        assert "NUL" in str(e.value.result.rejects[0])
    finally:
        drop_table(conn, spec)


@pytest.mark.django_db(transaction=True)
def test_nested_json_loads_as_canonical_json_text(conn):
    data = b'{"id": 1, "props": {"price": 0.1000000000000000055511, "name": "caf\\u00e9"}}\n'
    spec = TableSpec(
        schema="domain_test", table=f"Trust:{uuid.uuid4().hex[:12]}",
        fields=[FieldSpec("id", "id", "integer"), FieldSpec("props", "props", "string")],
        primary_key=["id"], error_threshold=0,
    )  # fmt: skip
    try:
        reader = open_reader(io.BytesIO(data), "n.ndjson", FileSettings("application/x-ndjson"))
        load(conn, spec, [SourceFile("n.ndjson", reader.batches)])
        query = sql.SQL("SELECT props FROM {}.{}").format(
            sql.Identifier(spec.schema), sql.Identifier(spec.table)
        )
        assert conn.execute(query).fetchone() == (
            '{"price":0.1000000000000000055511,"name":"café"}',
        )
    finally:
        drop_table(conn, spec)
