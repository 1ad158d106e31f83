"""Bad text files on the pages (4xx with the message, never a 500) and in a load (exact values,
or rejected rows naming row and field). Real Postgres, S3 over HTTP."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from psycopg import sql

from couriers.models import Courier
from feeds.inference import infer_fields
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


def table(*fields: FieldSpec, threshold: float = 100) -> TableSpec:
    return TableSpec(
        schema="domain_test",
        table=f"Trust:{uuid.uuid4().hex[:12]}",
        fields=[FieldSpec("id", "id", "integer"), *fields],
        primary_key=["id"],
        error_threshold=threshold,
    )


def load_csv(conn, spec: TableSpec, data: bytes, name: str = "n.csv"):
    reader = open_reader(io.BytesIO(data), name, FileSettings("text/csv"))
    return load(conn, spec, [SourceFile(name, reader.batches)])


def stored(conn, spec: TableSpec) -> list[tuple]:
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY id").format(
        sql.SQL(", ").join(sql.Identifier(f.name) for f in spec.fields),
        sql.Identifier(spec.schema),
        sql.Identifier(spec.table),
    )
    return conn.execute(query).fetchall()


@pytest.fixture
def spec(conn, request):
    made = table(*request.param)
    yield made
    drop_table(conn, made)


NUMBERS = (
    FieldSpec("big", "big", "integer"),
    FieldSpec("amount", "amount", "decimal", precision=38, scale=2),
    FieldSpec("ratio", "ratio", "float"),
)
CSV_NUMBERS = (
    b"id,big,amount,ratio\n"
    b"1,9007199254740993,123456789012345678901234567890123456.78,0.5\n"
    b"2,9223372036854775807,0.01,NaN\n"
    b"3,NaN,1,1\n"
    b"4,1,Infinity,1\n"
    b"5,1,1e400,1\n"
    b"6,1,1,1e400\n"
    b"7,1e400,1,1\n"
    b"8,1,1,-Infinity\n"
    b"9,1,1,1e-400\n"
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("spec", [NUMBERS], indirect=True)
def test_numbers_load_exactly_and_non_finite_values_are_rejected(conn, spec):
    result = load_csv(conn, spec, CSV_NUMBERS)
    rows = stored(conn, spec)
    assert rows[0] == (
        1, 9007199254740993, Decimal("123456789012345678901234567890123456.78"), 0.5
    )  # fmt: skip
    assert rows[1][:3] == (2, 9223372036854775807, Decimal("0.01"))
    assert rows[1][3] != rows[1][3]  # NaN in a float field is a value the file holds
    assert rows[2:] == [(8, 1, Decimal("1.00"), float("-inf"))]
    rejects = {(r.row, r.field): r.reason for r in result.rejects}
    assert set(rejects) == {
        (3, "big"), (4, "amount"), (5, "amount"), (6, "ratio"), (7, "big"), (9, "ratio")
    }  # fmt: skip
    assert "only be loaded into a float field" in rejects[(3, "big")]
    assert "only be loaded into a float field" in rejects[(4, "amount")]
    assert "out of range for a float" in rejects[(6, "ratio")]
    assert "stored as 0" in rejects[(9, "ratio")]
    assert str(result.rejects[0]).startswith('n.csv row 3, field big: "NaN" is not a finite')


DATES = (FieldSpec("d", "d", "date"), FieldSpec("at", "at", "datetime"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("spec", [DATES], indirect=True)
def test_dates_outside_years_1_to_9999_reject_the_row(conn, spec):
    """Arrow parses year 0; Postgres (and Python) cannot hold it: a rejected row, not a crash."""
    data = (
        b"id,d,at\n1,0000-01-01,2024-01-01\n2,2024-01-01,0000-12-31T23:00:00Z\n"
        b"3,10000-01-01,2024-01-01\n4,2024-02-29,9999-12-31T23:59:59Z\n"
    )
    result = load_csv(conn, spec, data)
    assert stored(conn, spec) == [
        (4, dt.date(2024, 2, 29), dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    ]
    rejects = {(r.row, r.field): r.reason for r in result.rejects}
    assert rejects == {
        (1, "d"): "is out of range (years 0001-9999)",
        (2, "at"): "is out of range (years 0001-9999)",
        (3, "d"): "is not a date (YYYY-MM-DD)",
    }


@pytest.mark.django_db(transaction=True)
def test_inferred_types_load_the_big_numbers_exactly(conn):
    """Inference → load: what the preview infers stores every digit."""
    data = (
        b"id,amount,count\n"
        b"1,123456789012345678901234567890123456.78,9007199254740993\n"
        b"2,0.5,9223372036854775807\n"
    )
    shown = preview(io.BytesIO(data), "i.csv", FileSettings("text/csv"))
    fields = [
        FieldSpec(f.name, f.name, f.type, precision=f.precision, scale=f.scale)
        for f in infer_fields(shown.schema, shown.sample)
    ]
    assert [(f.type, f.precision, f.scale) for f in fields] == [
        ("integer", None, None),
        ("decimal", 38, 2),
        ("integer", None, None),
    ]
    made = table(*fields[1:], threshold=0)
    try:
        load_csv(conn, made, data, "i.csv")
        assert stored(conn, made) == [
            (1, Decimal("123456789012345678901234567890123456.78"), 9007199254740993),
            (2, Decimal("0.50"), 9223372036854775807),
        ]
    finally:
        drop_table(conn, made)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("spec", [(FieldSpec("huge", "huge", "decimal"),)], indirect=True)
def test_integers_beyond_int64_load_exactly_as_numeric(conn, spec):
    data = b"id,huge\n1,123456789012345678901234567890\n2,1e400\n3,Infinity\n"
    result = load_csv(conn, spec, data)
    assert stored(conn, spec) == [
        (1, Decimal("123456789012345678901234567890")),
        (2, Decimal("1e400")),
    ]
    assert [(r.row, r.field) for r in result.rejects] == [(3, "huge")]


@pytest.mark.django_db(transaction=True)
def test_nul_bytes_reject_the_row_naming_row_and_field(conn):
    spec = table(FieldSpec("name", "name", "string"), threshold=0)
    try:
        with pytest.raises(LoadRejected) as e:
            load_csv(conn, spec, b"id,name\n1,Ann\n2,B\x00b\n", "nul.csv")
        assert str(e.value.result.rejects[0]).startswith("nul.csv row 2, field name:")
        assert "NUL" in str(e.value.result.rejects[0])
    finally:
        drop_table(conn, spec)


@pytest.mark.django_db(transaction=True)
def test_nested_json_loads_as_canonical_json_text(conn):
    data = b'{"id": 1, "props": {"price": 0.1000000000000000055511, "name": "caf\\u00e9"}}\n'
    spec = table(FieldSpec("props", "props", "string"), threshold=0)
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
