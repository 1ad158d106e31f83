"""Typed files (Avro, Parquet) load every value exactly, with the Postgres type it deserves:
bytes as bytea, nested values as jsonb, times as time, no-zone timestamps as timestamp,
decimals with every digit, 64-bit integers exactly. A value that cannot convert is a rejected
row naming the row and field, never a stored approximation."""

import datetime as dt
import decimal
import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from psycopg import errors, sql

from feeds.inference import infer_field
from feeds.loader import (
    FieldSpec,
    LoadRejected,
    SourceFile,
    SpecError,
    TableSpec,
    drop_table,
    ensure_table,
    load,
)
from feeds.loading.convert import NOT_FINITE
from feeds.readers import FileSettings, open_reader
from tests.feeds.test_avro_integrity import BIG, FLAT, TYPED, TYPED_ROW, avro

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = "domain_test"


@pytest.fixture
def tables(conn):
    made: list[TableSpec] = []

    def make(fields, key, **kw):
        spec = TableSpec(SCHEMA, f"Typed:{uuid.uuid4().hex[:12]}", fields, key, **kw)
        made.append(spec)
        return spec

    yield make
    for spec in made:
        drop_table(conn, spec)


def pg_types(conn, spec):
    return dict(
        conn.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
               WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
            (sql.SQL("{}.{}").format(sql.Identifier(spec.schema), sql.Identifier(spec.table))
             .as_string(conn),),
        ).fetchall()
    )  # fmt: skip


def select(conn, spec, *exprs):
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY _pk").format(
        sql.SQL(", ").join(sql.SQL(e) for e in exprs),
        sql.Identifier(spec.schema),
        sql.Identifier(spec.table),
    )
    return conn.execute(query).fetchall()


def source(data, name):
    settings = FileSettings(
        "application/x-parquet" if name.endswith(".parquet") else "application/avro"
    )
    return SourceFile(name, lambda: open_reader(io.BytesIO(data), name, settings).batches())


def suggested(data, name):
    """Field specs as the Feed Editor suggests them from the file's Arrow schema."""
    settings = FileSettings(
        "application/x-parquet" if name.endswith(".parquet") else "application/avro"
    )
    schema = open_reader(io.BytesIO(data), name, settings).schema
    fields = []
    for f in schema:
        ftype, precision, scale = infer_field(f.type, [])
        fields.append(FieldSpec(f.name, f.name, ftype, precision=precision, scale=scale))
    return fields


@pytest.mark.parametrize("truncate", [False, True], ids=["staged", "swapped"])
@pytest.mark.parametrize("precision", [40, 38], ids=["csv-copy", "binary-copy"])
def test_typed_avro_loads_exactly(conn, tables, truncate, precision):
    schema = dict(TYPED, fields=[dict(f) for f in TYPED["fields"]])
    schema["fields"][-1] = dict(
        schema["fields"][-1],
        type={"type": "bytes", "logicalType": "decimal", "precision": precision, "scale": 5},
    )
    amount = BIG if precision == 40 else decimal.Decimal("123456789012345678901234567890123.45678")
    data = avro([dict(TYPED_ROW, amount=amount)], schema)
    fields = suggested(data, "t.avro")
    assert [(f.name, f.type, f.precision, f.scale) for f in fields] == [
        ("id", "integer", None, None),
        ("raw", "bytes", None, None),
        ("maybe_raw", "bytes", None, None),
        ("address", "json", None, None),
        ("props", "json", None, None),
        ("opens", "time", None, None),
        ("closes", "time", None, None),
        ("local", "timestamp", None, None),
        ("local_ms", "timestamp", None, None),
        ("amount", "decimal", precision, 5),
    ]
    spec = tables(fields, ["id"])
    result = load(conn, spec, [source(data, "t.avro")], truncate=truncate)
    assert (result.rows_read, result.inserted, result.rejected) == (1, 1, 0)
    types = pg_types(conn, spec)
    assert {k: types[k] for k in ("id", "raw", "address", "opens", "local", "amount")} == {
        "id": "bigint",
        "raw": "bytea",
        "address": "jsonb",
        "opens": "time without time zone",
        "local": "timestamp without time zone",
        "amount": f"numeric({precision},5)",
    }
    assert select(
        conn, spec, "id", "raw", "maybe_raw", "address->>'code'", "address->>'balance'",
        "jsonb_typeof(address->'balance')", "address->>'seen'", "address->>'score'",
        "props->>'visits'", "opens", "closes", "local", "local_ms", "amount::text",
    ) == [(
        2**53 + 1, b"\x00\xff", b"\x00\xff", "AP8=", "1234567890123456789012345678901234567.891",
        "number", "2024-01-02T03:04:05.678901+00:00", "NaN", str(2**62),
        dt.time(9, 30, 15, 123000), dt.time(17, 45, 0, 654321),
        dt.datetime(2024, 2, 29, 23, 59, 59, 999999), dt.datetime(2024, 3, 1, 0, 0, 0, 1000),
        str(amount),
    )]  # fmt: skip


def test_longs_beyond_2_53_stay_exact_on_the_columnar_path(conn, tables):
    rows = [{"event_id": v, "path": None} for v in (2**53 + 1, 2**63 - 1, -(2**63))]
    data = avro(rows, FLAT)
    spec = tables(suggested(data, "p.avro"), ["event_id"])
    assert spec.field("event_id").type == "integer"
    load(conn, spec, [source(data, "p.avro")])
    assert select(conn, spec, "event_id") == [(-(2**63),), (2**53 + 1,), (2**63 - 1,)]


def parquet(table):
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def test_typed_parquet_loads_exactly(conn, tables):
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "counter": pa.array([2**64 - 1, 7], pa.uint64()),
            "amount": pa.array(
                [decimal.Decimal("1234567890.0123456789"), None], pa.decimal128(38, 10)
            ),  # fmt: skip
            "who": pa.array(
                [{"name": "Ann", "age": 41}, None],
                pa.struct([("name", pa.string()), ("age", pa.int32())]),
            ),  # fmt: skip
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "attrs": pa.array([[("k", b"\x01")], None], pa.map_(pa.string(), pa.binary())),
            "at": pa.array([dt.time(1, 2, 3)] * 2, pa.time32("s")),
            "precise": pa.array([dt.time(23, 59, 59, 999999)] * 2, pa.time64("us")),
            "local": pa.array([dt.datetime(2024, 5, 6, 7, 8, 9, 10)] * 2, pa.timestamp("ms")),
            "zoned": pa.array(
                [dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC)] * 2, pa.timestamp("us", tz="UTC")
            ),  # fmt: skip
            "blob": pa.array([b"\x00\xff\x10", None], pa.binary()),
        }
    )
    data = parquet(table)
    fields = suggested(data, "t.parquet")
    assert [(f.name, f.type, f.precision, f.scale) for f in fields] == [
        ("id", "integer", None, None),
        ("counter", "decimal", 20, 0),
        ("amount", "decimal", 38, 10),
        ("who", "json", None, None),
        ("tags", "json", None, None),
        ("attrs", "json", None, None),
        ("at", "time", None, None),
        ("precise", "time", None, None),
        ("local", "timestamp", None, None),
        ("zoned", "datetime", None, None),
        ("blob", "bytes", None, None),
    ]
    spec = tables(fields, ["id"])
    result = load(conn, spec, [source(data, "t.parquet")])
    assert result.rejected == 0, result.rejects
    assert select(
        conn, spec, "counter::text", "amount::text", "who::text", "tags::text", "attrs::text",
        "at", "precise", "local", "zoned", "blob",
    ) == [
        (str(2**64 - 1), "1234567890.0123456789", '{"age": 41, "name": "Ann"}', '["a", "b"]',
         '{"k": "AQ=="}', dt.time(1, 2, 3), dt.time(23, 59, 59, 999999),
         dt.datetime(2024, 5, 6, 7, 8, 9), dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
         b"\x00\xff\x10"),
        ("7", None, None, "[]", None, dt.time(1, 2, 3), dt.time(23, 59, 59, 999999),
         dt.datetime(2024, 5, 6, 7, 8, 9), dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC), None),
    ]  # fmt: skip


def test_nan_and_infinity_load_as_floats_and_are_rejected_as_integers_or_decimals(conn, tables):
    values = [1.0, float("nan"), float("inf"), 2.5, float("-inf"), 3.0]
    batch = pa.RecordBatch.from_pydict(
        {"id": pa.array(range(1, 7), pa.int64()), "x": pa.array(values, pa.float64())}
    )
    as_float = tables([FieldSpec("id", "id", "integer"), FieldSpec("x", "x", "float")], ["id"])
    load(conn, as_float, [SourceFile("f.parquet", [batch])])
    assert select(conn, as_float, "x::text") == [
        ("1",), ("NaN",), ("Infinity",), ("2.5",), ("-Infinity",), ("3",)
    ]  # fmt: skip

    for ftype, precision, reason in [
        ("integer", None, "is not a 64-bit integer"),
        ("decimal", 10, "does not fit decimal(10,0)"),
        ("decimal", None, "is not a decimal number"),
    ]:
        spec = tables(
            [FieldSpec("id", "id", "integer"), FieldSpec("x", "x", ftype, precision=precision)],
            ["id"],
            error_threshold=100,
        )
        result = load(conn, spec, [SourceFile("f.parquet", [batch])])
        bad = {(r.row, r.field, r.value, r.reason) for r in result.rejects}
        rejected = {
            (row, "x", value, NOT_FINITE) for row, value in [(2, "nan"), (3, "inf"), (5, "-inf")]
        }
        if ftype == "integer" or precision == 10:
            rejected.add((4, "x", "2.5", reason))  # never rounded into a whole number
        assert bad == rejected
        stored = select(conn, spec, "id", "x::text")
        assert all(x in ("1", "3", "2.5") for _, x in stored), stored


def test_nan_into_an_integer_refuses_the_load_naming_the_row_and_field(conn, tables):
    batch = pa.RecordBatch.from_pydict(
        {"id": pa.array([1, 2], pa.int64()), "x": pa.array([1.0, float("nan")], pa.float64())}
    )
    spec = tables([FieldSpec("id", "id", "integer"), FieldSpec("x", "x", "integer")], ["id"])
    with pytest.raises(LoadRejected) as e:
        load(conn, spec, [SourceFile("f.parquet", [batch])])
    assert f'First: f.parquet row 2, field x: "nan" {NOT_FINITE}' in str(e.value)


def test_text_values_for_the_new_types(conn, tables):
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["1", "2", "3"],
            "blob": ["\\x00ff", "0x10", "zz"],
            "doc": ['{"b": [1, 2.50], "a": null}', "not json", '"\\u0000"'],
            "at": ["12:34:56.5", "25:61", "07:08"],
            "local": ["2024-01-02 03:04:05", "2024-01-02T03:04:05+02:00", "yesterday"],
        }
    )
    spec = tables(
        [
            FieldSpec("id", "id", "integer"),
            FieldSpec("blob", "blob", "bytes"),
            FieldSpec("doc", "doc", "json"),
            FieldSpec("at", "at", "time"),
            FieldSpec("local", "local", "timestamp"),
        ],
        ["id"],
        error_threshold=100,
    )
    result = load(conn, spec, [SourceFile("t.csv", [batch])])
    assert sorted((r.row, r.field, r.reason) for r in result.rejects) == [
        (2, "at", "is not a time of day (hh:mm:ss)"),
        (2, "doc", "is not JSON"),
        (3, "blob", "is not bytes (in a text file: hex digits, e.g. \\x00ff)"),
        (3, "doc", "contains a NUL character (\\u0000), which Postgres cannot store in JSON"),
        (3, "local", "is not a timestamp (YYYY-MM-DD hh:mm:ss)"),
    ]
    assert select(conn, spec, "blob", "doc::text", "at", "local") == [
        (b"\x00\xff", '{"a": null, "b": [1, 2.50]}', dt.time(12, 34, 56, 500000),
         dt.datetime(2024, 1, 2, 3, 4, 5)),
    ]  # fmt: skip


def test_bytes_and_json_cannot_be_keys():
    for ftype in ("bytes", "json"):
        spec = TableSpec(SCHEMA, "Typed:key", [FieldSpec("k", "k", ftype)], ["k"])
        with pytest.raises(SpecError, match=f"field 'k' is {ftype}, which cannot be part of the"):
            spec.validate()


def test_a_text_column_is_never_silently_retyped(conn, tables):
    spec = tables([FieldSpec("id", "id", "integer"), FieldSpec("v", "v", "string")], ["id"])
    batch = pa.RecordBatch.from_pydict({"id": ["1"], "v": ["b'\\x00\\xff'"]})
    load(conn, spec, [SourceFile("old.csv", [batch])])
    spec.fields[1] = FieldSpec("v", "v", "bytes")
    with pytest.raises(errors.InvalidTextRepresentation):  # the old text is not bytea input
        ensure_table(conn, spec)
    assert pg_types(conn, spec)["v"] == "text"
    assert select(conn, spec, "v") == [("b'\\x00\\xff'",)]

    spec.fields[1] = FieldSpec("v", "v", "json")
    with pytest.raises(errors.InvalidTextRepresentation):  # nor JSON
        ensure_table(conn, spec)
    assert pg_types(conn, spec)["v"] == "text"


def test_a_decimal_without_precision_loads_every_digit(conn, tables):
    # It used to fail every load: its text went to the numeric column as binary COPY.
    digits = "-123456789012345678901234567890123456789012345678901234567890.000000000000000000001"
    batch = pa.RecordBatch.from_pydict({"id": ["1", "2"], "x": [digits, "1e3"]})
    spec = tables([FieldSpec("id", "id", "integer"), FieldSpec("x", "x", "decimal")], ["id"])
    load(conn, spec, [SourceFile("d.csv", [batch])])
    assert select(conn, spec, "x::text") == [(digits,), ("1000",)]
    assert pg_types(conn, spec)["x"] == "numeric"


def test_nested_parquet_into_a_string_field_is_its_json_text(conn, tables):
    # Such columns were rejected row by row ("is not text").
    who = pa.array([{"name": "Ann", "raw": b"\x00"}, None],
                   pa.struct([("name", pa.string()), ("raw", pa.binary())]))  # fmt: skip
    data = parquet(pa.table({"id": pa.array([1, 2], pa.int64()), "who": who}))
    spec = tables([FieldSpec("id", "id", "integer"), FieldSpec("who", "who", "string")], ["id"])
    result = load(conn, spec, [source(data, "n.parquet")])
    assert result.rejected == 0
    assert select(conn, spec, "who") == [('{"name":"Ann","raw":"AA=="}',), (None,)]
