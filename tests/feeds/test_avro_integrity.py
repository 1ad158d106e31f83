"""Avro containers are checked block by block: a corrupt file is refused naming the block and
byte offset, on both decoding paths (loads: polars, avro_fast.py; previews: fastavro).
Schemas that cannot be loaded (recursive, too deep) are refused naming the field path; bytes,
nested values, times and no-zone timestamps keep their types."""

import datetime as dt
import decimal
import io

import fastavro
import pyarrow as pa
import pytest

from feeds.readers import FileSettings, ReaderError, open_reader, preview
from feeds.readers.avro_reader import arrow_schema, open_avro

AVRO = FileSettings("application/avro")
FLAT = {
    "type": "record",
    "name": "Pageviews",
    "fields": [
        {"name": "event_id", "type": "long"},
        {"name": "path", "type": ["null", "string"]},
    ],
}


def flat_rows(n):
    return [{"event_id": 2**62 + i, "path": f"/page/{i}/zq{i:05d}-unique"} for i in range(n)]


def avro(rows, schema=FLAT, codec="snappy", sync_interval=2000):
    buf = io.BytesIO()
    fastavro.writer(buf, schema, rows, codec=codec, sync_interval=sync_interval)
    return buf.getvalue()


def _long(data, pos):
    shift = result = 0
    while True:
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return (result >> 1) ^ -(result & 1), pos
        shift += 7


def blocks(data):
    """[(number, offset, data start, data size)] of a container, found independently."""
    pos = 4
    while True:  # the metadata map
        count, pos = _long(data, pos)
        if count == 0:
            break
        for _ in range(abs(count)):
            for _ in range(2):
                size, pos = _long(data, pos)
                pos += size
    sync_at = pos
    pos += 16
    out = []
    while pos < len(data):
        offset = pos
        _, pos = _long(data, pos)
        size, pos = _long(data, pos)
        out.append((len(out) + 1, offset, pos, size))
        pos += size + 16
    return sync_at, out


def load_fast(data, name="p.avro"):
    return pa.Table.from_batches(open_reader(io.BytesIO(data), name, AVRO).batches())


def load_fastavro(data, name="p.avro"):
    return pa.Table.from_batches(open_avro(io.BytesIO(data), name, AVRO, batch_rows=500).batches())


def load_preview(data, name="p.avro"):
    return preview(io.BytesIO(data), name, AVRO, limit=100_000)


PATHS = [load_fast, load_fastavro, load_preview]


@pytest.mark.parametrize("read", PATHS)
def test_a_flipped_byte_in_snappy_data_is_refused_by_its_checksum(read):
    data = bytearray(avro(flat_rows(3000)))
    _, found = blocks(data)
    number, offset, start, size = found[2]
    marker = data.find(b"zq", start, start + size)  # a literal: it decompresses the same size
    assert marker > 0
    data[marker + 2] ^= 0x01  # one digit of one path changes
    with pytest.raises(ReaderError) as e:
        read(bytes(data))
    assert str(e.value).startswith(f"p.avro block {number} (byte {offset}): snappy checksum")
    assert "the file is corrupt" in str(e.value)


@pytest.mark.parametrize("read", PATHS)
def test_a_wrong_crc32_is_refused(read):
    data = bytearray(avro(flat_rows(3000)))
    _, found = blocks(data)
    number, offset, start, size = found[1]
    data[start + size - 1] ^= 0xFF  # the last byte of the big-endian CRC32
    with pytest.raises(ReaderError, match=rf"^p.avro block {number} \(byte {offset}\): snappy"):
        read(bytes(data))


@pytest.mark.parametrize("read", PATHS)
def test_a_sync_marker_unlike_the_headers_is_refused(read):
    data = bytearray(avro(flat_rows(3000), codec="null"))
    _, found = blocks(data)
    number, offset, start, size = found[1]
    data[start + size + 5] ^= 0x20
    with pytest.raises(ReaderError) as e:
        read(bytes(data))
    assert str(e.value) == (
        f"p.avro block {number} (byte {offset}): the sync marker after the block does not "
        "match the header's: the file is corrupt (or cut short, or two files were joined)"
    )


@pytest.mark.parametrize("read", PATHS)
def test_a_bad_magic_is_refused_at_byte_0(read):
    data = b"Obj\x02" + avro(flat_rows(10))[4:]
    with pytest.raises(ReaderError, match=r'^p.avro byte 0: not an Avro file \(no "Obj" header\)'):
        read(data)


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
@pytest.mark.parametrize("read", PATHS)
def test_a_truncated_file_names_the_last_block(read, codec):
    data = avro(flat_rows(3000), codec=codec)
    _, found = blocks(data)
    number, offset, _, _ = found[-1]
    with pytest.raises(ReaderError) as e:
        read(data[:-30])
    message = str(e.value)
    assert message.startswith(f"p.avro block {number} (byte {offset}): ")
    assert "is the file complete?" in message or "sync marker" in message


@pytest.mark.parametrize("read", PATHS)
def test_a_deflate_block_with_bad_data_is_refused(read):
    # Avro's deflate has no checksum: the damage shows as bad compressed data or bad records.
    data = bytearray(avro(flat_rows(3000), codec="deflate"))
    _, found = blocks(data)
    number, offset, start, size = found[0]
    data[start + size // 2 : start + size // 2 + 8] = b"\xff" * 8
    with pytest.raises(
        ReaderError, match=rf"^p.avro (record \d+, )?block {number} \(byte {offset}\): "
    ):
        read(bytes(data))


def test_a_good_file_reads_the_same_on_every_path():
    data = avro(flat_rows(3000))
    fast, slow = load_fast(data), load_fastavro(data)
    assert fast.equals(slow)
    assert fast.column("event_id").to_pylist()[-1] == 2**62 + 2999  # exact, never a float


@pytest.mark.django_db
def test_a_block_over_the_size_limit_is_refused_naming_the_setting(settings):
    settings.SOURCES_AVRO_MAX_BLOCK_BYTES = 1000
    data = avro(flat_rows(3000), codec="null", sync_interval=4000)
    _, found = blocks(data)
    number, offset, _, size = found[0]
    with pytest.raises(ReaderError) as e:
        load_fast(data)
    assert str(e.value) == (
        f"p.avro block {number} (byte {offset}): the block holds {size:,} bytes, more than the "
        "limit of 1,000 (setting SOURCES_AVRO_MAX_BLOCK_BYTES)"
    )


# --- schemas ------------------------------------------------------------------------------------
LINKED = {
    "type": "record",
    "name": "Node",
    "fields": [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Node"]}],
}
MUTUAL = {
    "type": "record",
    "name": "Person",
    "namespace": "crm",
    "fields": [
        {
            "name": "employer",
            "type": {
                "type": "record",
                "name": "Company",
                "fields": [{"name": "owners", "type": {"type": "array", "items": "crm.Person"}}],
            },
        }
    ],
}


@pytest.mark.parametrize("read", PATHS)
def test_a_recursive_schema_is_refused_naming_the_field_path(read):
    data = avro([{"value": 1, "next": {"value": 2, "next": None}}], LINKED)
    with pytest.raises(ReaderError) as e:
        read(data, "tree.avro")
    assert str(e.value) == (
        "tree.avro schema: recursive Avro schema: record Node refers to itself at field path "
        "next (records that contain themselves cannot be loaded)"
    )


def test_mutual_recursion_names_the_path_through_the_other_record():
    with pytest.raises(ReaderError, match=r"record crm.Person refers to itself at field path "
                       r"employer.owners "):  # fmt: skip
        arrow_schema(MUTUAL, "people.avro")


def test_a_schema_nested_deeper_than_the_limit_is_refused():
    inner: dict = {"type": "record", "name": "L40", "fields": [{"name": "x", "type": "long"}]}
    for level in range(39, 0, -1):
        inner = {"type": "record", "name": f"L{level}", "fields": [{"name": "f", "type": inner}]}
    schema = {"type": "record", "name": "Top", "fields": [{"name": "f", "type": inner}]}
    with pytest.raises(ReaderError) as e:
        load_fast(avro([], schema))
    assert str(e.value) == (
        "p.avro schema: the Avro schema nests records, arrays and maps more than 32 levels deep "
        "at field path " + ".".join(["f"] * 33) + " (setting SOURCES_AVRO_MAX_NESTING)"
    )


TYPED = {
    "type": "record",
    "name": "Typed",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "raw", "type": "bytes"},
        {"name": "maybe_raw", "type": ["null", "bytes"]},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [
                    {"name": "city", "type": "string"},
                    {"name": "code", "type": "bytes"},
                    {
                        "name": "balance",
                        "type": {
                            "type": "bytes",
                            "logicalType": "decimal",
                            "precision": 40,
                            "scale": 3,
                        },
                    },
                    {"name": "seen", "type": {"type": "long", "logicalType": "timestamp-micros"}},
                    {"name": "tags", "type": {"type": "array", "items": "string"}},
                    {"name": "score", "type": "double"},
                ],
            },
        },
        {"name": "props", "type": {"type": "map", "values": "long"}},
        {"name": "opens", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "closes", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "local_ms", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 5},
        },
    ],
}
BIG = decimal.Decimal("12345678901234567890123456789012345.67891")  # 40 digits
TYPED_ROW = {
    "id": 2**53 + 1,
    "raw": b"\x00\xff",
    "maybe_raw": b"\x00\xff",
    "address": {
        "city": "Zürich",
        "code": b"\x00\xff",
        "balance": decimal.Decimal("1234567890123456789012345678901234567.891"),
        "seen": dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        "tags": ["a", "b"],
        "score": float("nan"),
    },
    "props": {"visits": 2**62},
    "opens": dt.time(9, 30, 15, 123000),
    "closes": dt.time(17, 45, 0, 654321),
    "local": dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
    "local_ms": dt.datetime(2024, 3, 1, 0, 0, 0, 1000),
    "amount": BIG,
}
ADDRESS_JSON = (
    '{"city":"Zürich","code":"AP8=","balance":1234567890123456789012345678901234567.891,'
    '"seen":"2024-01-02T03:04:05.678901+00:00","tags":["a","b"],"score":"NaN"}'
)


def typed_avro():
    return avro([TYPED_ROW], TYPED, codec="snappy")


def test_typed_avro_values_keep_their_types():
    table = load_fast(typed_avro())
    assert [str(t) for t in table.schema.types] == [
        "int64",
        "binary",
        "binary",
        "extension<arrow.json>",
        "extension<arrow.json>",
        "time32[ms]",
        "time64[us]",
        "timestamp[us]",
        "timestamp[us]",
        "decimal256(40, 5)",
    ]
    row = table.to_pylist()[0]
    assert row["id"] == 2**53 + 1
    assert row["raw"] == row["maybe_raw"] == b"\x00\xff"  # bytes, not the text "b'\x00\xff'"
    assert row["address"] == ADDRESS_JSON
    assert row["props"] == '{"visits":4611686018427387904}'
    assert row["opens"] == dt.time(9, 30, 15, 123000)
    assert row["local"] == dt.datetime(2024, 2, 29, 23, 59, 59, 999999)
    assert row["amount"] == BIG


def test_preview_shows_nested_values_as_json_and_bytes_as_hex():
    shown = preview(io.BytesIO(typed_avro()), "t.avro", AVRO)
    row = dict(zip(shown.columns, shown.rows[0], strict=True))
    assert row["address"] == ADDRESS_JSON
    assert row["raw"] == "00ff"
    assert row["closes"] == "17:45:00.654321"
