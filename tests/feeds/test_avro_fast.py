"""The column-wise Avro reader (polars) reads what the fastavro reader reads, in bounded groups."""

import datetime as dt
import io

import fastavro
import pyarrow as pa
import pytest

from feeds.readers import FileSettings, ReaderError, open_reader
from feeds.readers.avro_fast import polars_can_read
from feeds.readers.avro_reader import open_avro

SCHEMA = {
    "type": "record",
    "name": "Pageviews",
    "fields": [
        {"name": "event_id", "type": "long"},
        {"name": "time", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {"name": "seen", "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}]},
        {"name": "day", "type": ["null", {"type": "int", "logicalType": "date"}]},
        {"name": "path", "type": ["null", "string"]},
        {"name": "n", "type": ["null", "int"]},
        {"name": "score", "type": ["null", "double"]},
        {"name": "ok", "type": ["null", "boolean"]},
    ],
}
T0 = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)


def records(n):
    return [
        {
            "event_id": 8_123_456_789_012_345_678 + i,
            "time": T0 + dt.timedelta(seconds=i),
            "seen": None if i % 4 == 0 else T0 + dt.timedelta(microseconds=i),
            "day": dt.date(2024, 2, 29),
            "path": None if i % 3 == 0 else f"/p/{i}/é",
            "n": i,
            "score": i / 8,
            "ok": i % 2 == 0,
        }
        for i in range(n)
    ]


def avro(rows, schema=SCHEMA, codec="snappy"):
    buf = io.BytesIO()
    fastavro.writer(buf, schema, rows, codec=codec, sync_interval=2000)
    return buf.getvalue()


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_same_batches_as_fastavro(codec):
    data = avro(records(5000), codec=codec)
    settings = FileSettings("application/avro")
    fast = open_reader(io.BytesIO(data), "p.avro", settings, batch_rows=1500)
    slow = open_avro(io.BytesIO(data), "p.avro", settings, batch_rows=1500)
    assert fast.schema == slow.schema
    fast_batches = list(fast.batches())
    assert [b.num_rows for b in fast_batches] == [1500, 1500, 1500, 500]
    assert pa.Table.from_batches(fast_batches).equals(pa.Table.from_batches(slow.batches()))


def test_other_schemas_fall_back_to_fastavro():
    schema = {
        "type": "record",
        "name": "E",
        "fields": [{"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["a", "b"]}}],
    }
    assert not polars_can_read(schema)
    assert polars_can_read(SCHEMA)
    reader = open_reader(io.BytesIO(avro([{"kind": "b"}], schema)), "e.avro",
                         FileSettings("application/avro"))  # fmt: skip
    assert pa.Table.from_batches(reader.batches()).to_pylist() == [{"kind": "b"}]


def test_truncated_file_names_the_block():
    data = avro(records(3000))
    with pytest.raises(ReaderError, match=r"^p.avro block \d+ \(byte \d+\): the file ends inside"):
        list(open_reader(io.BytesIO(data[:-100]), "p.avro",
                         FileSettings("application/avro")).batches())  # fmt: skip
