"""Readers: what the review page and the loader see for each kind of file."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amperity_sources.gpg import write_agent_conf
from feeds.readers import (
    CONTENT_TYPES,
    FileSettings,
    ReaderError,
    decrypt_pgp,
    infer_settings,
    list_archive_members,
    open_archive_member,
    open_reader,
    preview,
)


class Unseekable(io.RawIOBase):
    """A forward-only stream like an S3 body; counts the bytes handed out."""

    def __init__(self, data_or_file: bytes | io.BufferedIOBase) -> None:
        self._f = io.BytesIO(data_or_file) if isinstance(data_or_file, bytes) else data_or_file
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._f.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)


class CountingFile(io.RawIOBase):
    """A seekable file that counts bytes read (like the S3 ranged-read file)."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._f.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


def read_all(data: bytes, name: str, settings: FileSettings, **kw) -> pa.Table:  # type: ignore[no-untyped-def]
    reader = open_reader(Unseekable(data), name, settings, **kw)
    return pa.Table.from_batches(list(reader.batches()), schema=reader.schema)


SEMICOLON_CSV = (
    "id;name;city;joined\n"
    "1;Ann Lee;Paris;2021-03-04\n"
    '2;"Bob; Jr";Lyon;2021-05-06\n'
    "3;Cé;;2022-01-01\n"
).encode()


# --- settings and inference ------------------------------------------------------------------


def test_settings_round_trip_and_validation() -> None:
    s = FileSettings("text/csv", compression="gzip", delimiter=";", header_rows=0)
    assert FileSettings.from_dict(s.to_dict()) == s
    assert (
        FileSettings.from_dict({"content_type": "text/csv", "escape": "", "junk": 1}).escape is None
    )
    assert s.to_land_as() == {
        "file/content-type": "text/csv",
        "file/header-rows": 0,
        "file/separator": ";",
        "file/quote": '"',
    }
    assert "application/avro" in CONTENT_TYPES
    with pytest.raises(ValueError, match="content type"):
        FileSettings("text/xml")
    with pytest.raises(ValueError, match="delimiter"):
        FileSettings("text/csv", delimiter=";;")


def test_infer_gzipped_semicolon_csv() -> None:
    s = infer_settings("exports/users-2024-01-02.csv.gz", gzip.compress(SEMICOLON_CSV)[:200])
    assert (s.content_type, s.compression, s.delimiter, s.quote, s.header_rows) == (
        "text/csv",
        "gzip",
        ";",
        '"',
        1,
    )


def test_infer_delimiters_by_content() -> None:
    tsv = b"a\tb\tc\n1\t2\t3\n4\t5\t6\n"
    psv = b"a|b|c\n1|2|3\n"
    assert infer_settings("data.txt", tsv).content_type == "text/tab-separated-values"
    assert infer_settings("data.txt", tsv).delimiter == "\t"
    assert infer_settings("data.dat", psv).content_type == "text/pipe-separated-values"
    assert infer_settings("data.psv", psv).delimiter == "|"


def test_infer_header_or_not() -> None:
    assert infer_settings("a.csv", b"id,email,score\n1,a@x.io,3.5\n2,b@x.io,4\n").header_rows == 1
    assert infer_settings("a.csv", b"1,a@x.io,3.5\n2,b@x.io,4\n3,c@x.io,1\n").header_rows == 0
    assert infer_settings("a.csv", b"2024-01-01,x\n2024-01-02,y\n").header_rows == 0


def test_infer_quote_escape_and_encoding() -> None:
    s = infer_settings("a.csv", b"name,note\n'Lee, Ann','hi'\n'Bo','x, y'\n")
    assert s.quote == "'"
    assert infer_settings("a.csv", b'name,note\n"a \\" b",1\n').escape == "\\"
    assert infer_settings("a.csv", b"\xef\xbb\xbfid,name\n1,x\n").encoding == "utf-8-sig"
    assert infer_settings("a.csv", "id,name\n1,café\n".encode("latin-1")).encoding == "latin-1"
    # a prefix cut in the middle of a UTF-8 character is still UTF-8
    assert infer_settings("a.csv", "id,name\n1,café".encode()[:-1]).encoding == "utf-8"


def test_infer_binary_and_json_types() -> None:
    assert infer_settings("x.bin", b"Obj\x01\x04\x14avro").content_type == "application/avro"
    assert infer_settings("users.avro.gz", gzip.compress(b"Obj\x01rest")).compression == "gzip"
    assert infer_settings("part-0", b"PAR1\x15\x04").content_type == "application/x-parquet"
    assert infer_settings("e.json", b'[{"a": 1},\n {"a": 2}]').content_type == "application/json"
    assert infer_settings("e.json", b'{"a": 1}\n{"a": 2}\n').content_type == "application/x-ndjson"
    assert infer_settings("e.jsonl", b'{"a": 1}\n').content_type == "application/x-ndjson"
    assert infer_settings("e.csv.pgp", b"x,y\n1,2\n").content_type == "text/csv"


# --- delimited text ------------------------------------------------------------------------------


def test_csv_values_header_and_nulls() -> None:
    data = b'id,name,note\n1,Ann,"says ""hi"", twice"\n2,Bob,"two\nlines"\n3,,\n'
    table = read_all(data, "users.csv", FileSettings("text/csv"))
    assert table.schema.names == ["id", "name", "note"]
    assert all(t == pa.string() for t in table.schema.types)
    assert table.to_pylist() == [
        {"id": "1", "name": "Ann", "note": 'says "hi", twice'},
        {"id": "2", "name": "Bob", "note": "two\nlines"},
        {"id": "3", "name": None, "note": None},
    ]


def test_gzipped_semicolon_csv_streams_from_unseekable_body() -> None:
    s = infer_settings("users.csv.gz", gzip.compress(SEMICOLON_CSV))
    table = read_all(gzip.compress(SEMICOLON_CSV), "users.csv.gz", s)
    assert table.num_rows == 3
    assert table.column("name").to_pylist() == ["Ann Lee", "Bob; Jr", "Cé"]
    assert table.column("city").to_pylist() == ["Paris", "Lyon", None]


def test_tsv_psv_no_header_escape_and_latin1() -> None:
    tsv = read_all(
        b"a\tb\n1\t2\n", "x.tsv", FileSettings("text/tab-separated-values", delimiter="\t")
    )
    assert tsv.to_pylist() == [{"a": "1", "b": "2"}]
    psv = read_all(
        b"1|x\n2|y\n",
        "x.psv",
        FileSettings("text/pipe-separated-values", delimiter="|", header_rows=0),
    )
    assert psv.schema.names == ["column_1", "column_2"]
    assert psv.num_rows == 2
    esc = read_all(b'a,b\n"x \\" y",2\n', "e.csv", FileSettings("text/csv", escape="\\"))
    assert esc.column("a").to_pylist() == ['x " y']
    latin = read_all(
        "id,name\n1,café\n".encode("latin-1"), "l.csv", FileSettings("text/csv", encoding="latin-1")
    )
    assert latin.column("name").to_pylist() == ["café"]


def test_duplicate_and_blank_header_names_are_made_unique() -> None:
    table = read_all(b"id,,id\n1,2,3\n", "d.csv", FileSettings("text/csv"))
    assert table.schema.names == ["id", "column_2", "id_2"]


def test_batches_have_batch_rows_rows() -> None:
    data = b"n\n" + b"".join(b"%d\n" % i for i in range(10_001))
    reader = open_reader(Unseekable(data), "n.csv", FileSettings("text/csv"), batch_rows=1000)
    sizes = [b.num_rows for b in reader.batches()]
    assert sizes == [1000] * 10 + [1]
    assert reader.rows_read == 10_001
    with pytest.raises(RuntimeError):
        list(reader.batches())


def test_ragged_row_names_file_line_and_cause() -> None:
    data = b"id,name,email\n1,Ann,a@x.io\n2,Bob,b@x.io\n3,Smith, John,j@x.io\n"
    with pytest.raises(ReaderError) as e:
        read_all(data, "users.csv", FileSettings("text/csv"))
    assert str(e.value).startswith("users.csv line 4: expected 3 fields, found 4")
    assert "without quotes" in str(e.value)


def test_wrong_delimiter_suggests_the_right_one() -> None:
    data = b"id;name;city\n1;Ann;Paris\n2;Bob;Lyon, France\n"
    with pytest.raises(
        ReaderError, match=r'^users.csv line 1: the declared delimiter "," does not'
    ):
        read_all(data, "users.csv", FileSettings("text/csv"))


def test_truncated_gzip_names_byte_offset() -> None:
    packed = gzip.compress(SEMICOLON_CSV * 200)
    cut = packed[: len(packed) // 2]
    with pytest.raises(ReaderError, match=r"^users.csv.gz byte \d+: truncated gzip"):
        read_all(cut, "users.csv.gz", FileSettings("text/csv", compression="gzip", delimiter=";"))


def test_not_gzip_but_labelled_gzip() -> None:
    with pytest.raises(ReaderError, match="not gzip data"):
        read_all(b"a,b\n1,2\n", "x.csv.gz", FileSettings("text/csv", compression="gzip"))


def test_gzip_without_a_gz_name_is_read_by_its_magic_bytes(tmp_path: Path) -> None:
    """A run takes its compression from the name; gzip's magic bytes say more than a name."""
    packed = gzip.compress(SEMICOLON_CSV)
    settings = FileSettings.from_land_as({"file/separator": ";"}, name="users.csv")
    assert settings.compression == "none"
    assert read_all(packed, "users.csv", settings).column("city").to_pylist() == [
        "Paris", "Lyon", None,
    ]  # fmt: skip
    path = tmp_path / "users.csv"
    path.write_bytes(packed)
    seekable = CountingFile(path)
    reader = open_reader(seekable, "users.csv", settings)
    assert sum(b.num_rows for b in reader.batches()) == 3
    assert preview(Unseekable(packed), "users.csv", settings).rows[0][1] == "Ann Lee"
    plain = read_all(b"\x1fid;name\n1;Ann\n", "odd.csv", settings)  # one magic byte only
    assert plain.column("name").to_pylist() == ["Ann"]


def test_empty_file_reads_as_no_rows() -> None:
    assert read_all(b"", "empty.csv", FileSettings("text/csv")).num_rows == 0


# --- JSON ----------------------------------------------------------------------------------------


def test_json_array_and_ndjson_values_as_text() -> None:
    objs = [
        {"id": 12345678901234567890, "price": 1.50, "ok": True, "tags": ["a"], "n": None},
        {"id": 2, "price": 3, "ok": False, "extra": "x"},
    ]
    text = json.dumps(objs, indent=2).replace("1.5,", "1.50,")
    arr = read_all(text.encode(), "e.json", FileSettings("application/json"))
    assert arr.schema.names == ["id", "price", "ok", "tags", "n", "extra"]
    assert arr.to_pylist()[0] == {
        "id": "12345678901234567890",
        "price": "1.50",
        "ok": "true",
        "tags": '["a"]',
        "n": None,
        "extra": None,
    }
    nd = "\n".join(json.dumps(o) for o in objs).encode()
    assert read_all(nd, "e.ndjson", FileSettings("application/x-ndjson")).num_rows == 2


def test_json_array_streams_in_batches() -> None:
    objs = [{"i": i, "s": "x" * 50} for i in range(30_000)]
    data = json.dumps(objs).encode()
    reader = open_reader(
        Unseekable(data), "big.json", FileSettings("application/json"), batch_rows=7000
    )
    batches = list(reader.batches())
    assert [b.num_rows for b in batches] == [7000] * 4 + [2000]
    assert batches[-1].column("i")[-1].as_py() == "29999"


def test_invalid_ndjson_names_line_and_column() -> None:
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3,, "b": 4}\n'
    with pytest.raises(ReaderError, match=r"^e.ndjson line 3 col 9: invalid JSON"):
        read_all(data, "e.ndjson", FileSettings("application/x-ndjson"))


def test_invalid_json_array_names_record_line_and_column() -> None:
    data = b'[\n  {"a": 1},\n  {"a": 2}\n  {"a": 3}\n]'
    with pytest.raises(
        ReaderError, match=r"^e.json record 2 line 4 col 3: expected ',' or ']' but found '\{'"
    ):
        read_all(data, "e.json", FileSettings("application/json"))
    with pytest.raises(ReaderError, match="is this NDJSON"):
        read_all(b'{"a": 1}\n', "e.json", FileSettings("application/json"))


# --- Avro ----------------------------------------------------------------------------------------

HEAP_USERS = {
    "type": "record",
    "name": "users",
    "fields": [
        {"name": "user_id", "type": "long"},
        {"name": "joindate", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}]},
        {
            "name": "last_modified",
            "type": ["null", {"type": "long", "logicalType": "timestamp-micros"}],
        },
        {"name": "identity", "type": ["null", "string"]},
        {"name": "email", "type": ["null", "string"]},
        {"name": "score", "type": ["null", "double"]},
        {"name": "is_paid", "type": ["null", "boolean"]},
        {"name": "signup_iso", "type": ["null", "string"]},
    ],
}
BIG_ID = 8_123_456_789_012_345_678


def heap_rows(n: int) -> list[dict]:  # type: ignore[type-arg]
    t0 = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    return [
        {
            "user_id": BIG_ID + i,
            "joindate": t0 + dt.timedelta(seconds=i),
            "last_modified": t0 if i % 2 else None,
            "identity": f"user{i}@example.com" if i % 3 else None,
            "email": f"user{i}@example.com",
            "score": i / 4,
            "is_paid": i % 2 == 0,
            "signup_iso": "2024-01-02T03:04:05Z",
        }
        for i in range(n)
    ]


def avro_bytes(rows: list[dict], codec: str = "snappy", sync_interval: int = 16000) -> bytes:  # type: ignore[type-arg]
    buf = io.BytesIO()
    fastavro.writer(buf, HEAP_USERS, rows, codec=codec, sync_interval=sync_interval)
    return buf.getvalue()


@pytest.mark.parametrize("codec", ["null", "deflate", "snappy"])
def test_avro_codecs_types_and_values(codec: str) -> None:
    rows = heap_rows(2500)
    reader = open_reader(
        Unseekable(avro_bytes(rows, codec, sync_interval=4000)),
        "users.avro",
        FileSettings("application/avro"),
        batch_rows=1000,
    )
    assert reader.schema.field("user_id").type == pa.int64()
    assert reader.schema.field("joindate").type == pa.timestamp("us", tz="UTC")
    assert reader.schema.field("signup_iso").type == pa.string()
    assert reader.schema.field("is_paid").type == pa.bool_()
    batches = list(reader.batches())
    assert [b.num_rows for b in batches] == [1000, 1000, 500]
    table = pa.Table.from_batches(batches)
    assert table.column("user_id")[2499].as_py() == BIG_ID + 2499  # exact, not float-rounded
    assert table.column("joindate")[0].as_py() == rows[0]["joindate"]
    assert table.column("last_modified")[0].as_py() is None
    assert table.column("identity").null_count == 834


def test_csv_labelled_avro_is_reported_at_byte_0() -> None:
    with pytest.raises(ReaderError) as e:
        read_all(b"id,name\n1,a\n", "events.avro", FileSettings("application/avro"))
    assert str(e.value) == (
        'events.avro byte 0: not an Avro file (no "Obj" header) — is the content type right?'
    )


def test_corrupt_snappy_block_names_block() -> None:
    data = bytearray(avro_bytes(heap_rows(3000), "snappy", sync_interval=2000))
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    with pytest.raises(ReaderError, match=r"^users.avro block \d+ \(byte \d+\): "):
        read_all(bytes(data), "users.avro", FileSettings("application/avro"))


def test_truncated_avro_names_block() -> None:
    data = avro_bytes(heap_rows(3000), "deflate", sync_interval=2000)
    with pytest.raises(ReaderError, match=r"^users.avro block \d+ \(byte \d+\): the file ends"):
        read_all(data[: len(data) - 100], "users.avro", FileSettings("application/avro"))


# --- Parquet -------------------------------------------------------------------------------------


def write_parquet(path: Path, n: int, row_group_size: int) -> None:
    table = pa.table(
        {
            "event_id": pa.array(range(BIG_ID, BIG_ID + n), pa.int64()),
            "user_id": pa.array([i % 97 for i in range(n)], pa.int64()),
            "payload": pa.array([os.urandom(16).hex() for _ in range(n)]),
        }
    )
    pq.write_table(table, path, row_group_size=row_group_size, compression="snappy")


def test_parquet_reads_all_row_groups(tmp_path: Path) -> None:
    path = tmp_path / "pageviews.parquet"
    write_parquet(path, 25_000, row_group_size=10_000)
    with CountingFile(path) as f:
        reader = open_reader(
            f, "pageviews.parquet", FileSettings("application/x-parquet"), batch_rows=8000
        )
        assert reader.schema.field("event_id").type == pa.int64()
        batches = list(reader.batches())
    assert [b.num_rows for b in batches] == [8000, 8000, 8000, 1000]
    assert batches[-1].column("event_id")[-1].as_py() == BIG_ID + 24_999
    # a forward-only stream is spooled to disk first
    table = read_all(path.read_bytes(), "p.parquet", FileSettings("application/x-parquet"))
    assert table.num_rows == 25_000


def test_parquet_preview_reads_footer_and_first_row_group_only(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    write_parquet(path, 400_000, row_group_size=50_000)
    size = path.stat().st_size
    with CountingFile(path) as f:
        p = preview(f, "big.parquet", FileSettings("application/x-parquet"), limit=200)
        assert f.bytes_read < size / 4
    assert p.columns == ["event_id", "user_id", "payload"]
    assert p.types == ["int64", "int64", "string"]
    assert len(p.rows) == 200 and p.truncated
    assert p.rows[0][0] == str(BIG_ID)
    assert json.loads(p.raw.splitlines()[0])["event_id"] == BIG_ID


def test_csv_labelled_parquet() -> None:
    with pytest.raises(ReaderError, match=r'^x.parquet byte 0: not a Parquet file \(no "PAR1"'):
        read_all(b"a,b\n1,2\n", "x.parquet", FileSettings("application/x-parquet"))


# --- preview -------------------------------------------------------------------------------------


def test_preview_csv_table_and_raw() -> None:
    data = b"id,name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(1000))
    p = preview(Unseekable(data), "u.csv", FileSettings("text/csv"), limit=200, raw_bytes=100)
    assert p.columns == ["id", "name"]
    assert p.types == ["string", "string"]
    assert len(p.rows) == 200
    assert p.rows[5] == ["5", "name 5"]
    assert p.raw.startswith("id,name\n0,name 0\n") and len(p.raw) == 100
    assert p.truncated
    small = preview(Unseekable(b"a\n1\n"), "s.csv", FileSettings("text/csv"))
    assert small.rows == [["1"]] and not small.truncated


def test_preview_avro_shows_types_and_json_lines() -> None:
    p = preview(
        Unseekable(avro_bytes(heap_rows(500))),
        "users.avro",
        FileSettings("application/avro"),
        limit=20,
    )
    assert p.types[:2] == ["int64", "timestamp[us, tz=UTC]"]
    assert len(p.rows) == 20 and p.truncated
    assert p.rows[0][1] == "2024-01-02T03:04:05.678000+00:00"
    first = json.loads(p.raw.splitlines()[0])
    assert first["user_id"] == BIG_ID and first["email"] == "user0@example.com"


def test_preview_of_large_gzipped_csv_reads_only_a_prefix(tmp_path: Path) -> None:
    path = tmp_path / "big.csv.gz"
    tokens = os.urandom(24 * 20_000).hex().encode()  # random, so it stays large compressed
    block = b"".join(
        b"%d,%d,%s\n" % (i, i % 1000, tokens[i * 48 : i * 48 + 48]) for i in range(20_000)
    )
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write(b"event_id,user_id,token\n")
        for _ in range(75):  # gzip's 32 KB window cannot see the 1.2 MB repeats
            gz.write(block)
    size = path.stat().st_size
    assert size > 45 * 1024 * 1024
    s = infer_settings("big.csv.gz", path.read_bytes()[:65536])
    assert s.compression == "gzip" and s.header_rows == 1
    with open(path, "rb") as f:
        body = Unseekable(f)  # type: ignore[arg-type]
        p = preview(body, "big.csv.gz", s, limit=200)
    assert len(p.rows) == 200 and p.rows[0][0] == "0"
    print(f"preview read {body.bytes_read} of {size} bytes")
    assert body.bytes_read < 2 * 1024 * 1024, body.bytes_read
    assert body.bytes_read < size / 15


# --- archives ------------------------------------------------------------------------------------


def test_zip_members_list_and_open(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/", "")
        z.writestr("data/users.csv", b"id,name\n1,Ann\n")
        z.writestr("data/events.ndjson", b'{"e": 1}\n')
    raw = buf.getvalue()
    assert list_archive_members(io.BytesIO(raw), "drop.zip") == [
        "data/users.csv",
        "data/events.ndjson",
    ]
    member = open_archive_member(Unseekable(raw), "drop.zip", "data/users.csv")
    table = pa.Table.from_batches(
        list(open_reader(member, "users.csv", FileSettings("text/csv")).batches())
    )
    assert table.to_pylist() == [{"id": "1", "name": "Ann"}]
    with pytest.raises(
        ReaderError, match=r'drop.zip: the archive has no file "nope.csv" \(it has: data/users.csv'
    ):
        open_archive_member(io.BytesIO(raw), "drop.zip", "nope.csv")
    with pytest.raises(ReaderError, match="bad archive"):
        list_archive_members(io.BytesIO(b"not a zip"), "drop.zip")


def test_tar_gz_streams_members(tmp_path: Path) -> None:
    src = tmp_path / "users.csv"
    src.write_bytes(b"id;name\n1;Ann\n2;Bob\n")
    path = tmp_path / "drop.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(src, arcname="users.csv")
        tar.add(src, arcname="copy/users.csv")
    raw = path.read_bytes()
    assert list_archive_members(Unseekable(raw), "drop.tar.gz") == ["users.csv", "copy/users.csv"]
    member = open_archive_member(Unseekable(raw), "drop.tgz", "copy/users.csv")
    table = pa.Table.from_batches(
        list(open_reader(member, "users.csv", FileSettings("text/csv", delimiter=";")).batches())
    )
    assert table.column("name").to_pylist() == ["Ann", "Bob"]
    with pytest.raises(ReaderError, match="unable to decompress archive"):
        list_archive_members(Unseekable(raw[: len(raw) // 2]), "drop.tar.gz")


# --- PGP -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pgp_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    gnupg = pytest.importorskip("gnupg")
    if not shutil.which("gpg"):
        pytest.skip("gpg is not installed")
    keys: dict[str, str] = {}
    home = tmp_path_factory.mktemp("gpg")
    home.chmod(0o700)
    write_agent_conf(str(home))
    gpg = gnupg.GPG(gnupghome=str(home))
    for label, passphrase in (("ours", "s3cret"), ("other", "other")):
        key = gpg.gen_key(
            gpg.gen_key_input(
                key_type="EDDSA",
                key_curve="ed25519",
                subkey_type="ECDH",
                subkey_curve="cv25519",
                name_email=f"{label}@example.com",
                passphrase=passphrase,
            )
        )
        keys[label] = gpg.export_keys(key.fingerprint, secret=True, passphrase=passphrase)
        keys[f"{label}_fp"] = key.fingerprint
    encrypted = gpg.encrypt(b"id,name\n1,Ann\n", keys["ours_fp"], always_trust=True, armor=False)
    assert encrypted.ok, encrypted.status
    keys["message"] = encrypted.data  # type: ignore[assignment]
    yield keys
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def test_pgp_decrypts_with_the_right_key(pgp_keys: dict) -> None:  # type: ignore[type-arg]
    plain = decrypt_pgp(Unseekable(pgp_keys["message"]), pgp_keys["ours"], "s3cret")
    assert plain.read() == b"id,name\n1,Ann\n"


def test_pgp_errors_say_why(pgp_keys: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ReaderError, match="PGP error: the passphrase does not unlock"):
        decrypt_pgp(io.BytesIO(pgp_keys["message"]), pgp_keys["ours"], "wrong")
    with pytest.raises(ReaderError, match="PGP error: .*different key"):
        decrypt_pgp(io.BytesIO(pgp_keys["message"]), pgp_keys["other"], "other")
    with pytest.raises(ReaderError, match="PGP error: the file is not PGP"):
        decrypt_pgp(io.BytesIO(b"id,name\n1,Ann\n"), pgp_keys["ours"], "s3cret")
    with pytest.raises(ReaderError, match="PGP error: .*no usable private key"):
        decrypt_pgp(io.BytesIO(pgp_keys["message"]), "not a key", None)


def test_avro_logical_and_nested_types_map_to_arrow() -> None:
    schema = {
        "type": "record",
        "name": "t",
        "fields": [
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
            {
                "name": "amount",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
            },
            {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
            {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
            {"name": "props", "type": {"type": "map", "values": "string"}},
            {"name": "either", "type": ["null", "long", "string"]},
        ],
    }
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    record = {
        "day": dt.date(2024, 2, 29),
        "amount": decimal.Decimal("12.34"),
        "uid": u,
        "kind": "B",
        "props": {"plan": "pro"},
        "either": 7,
    }
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [record])
    reader = open_reader(Unseekable(buf.getvalue()), "t.avro", FileSettings("application/avro"))
    assert [str(t) for t in reader.schema.types] == [
        "date32[day]",
        "decimal128(10, 2)",
        "string",
        "string",
        "extension<arrow.json>",
        "string",
    ]
    row = pa.Table.from_batches(list(reader.batches())).to_pylist()[0]
    assert row == {
        "day": dt.date(2024, 2, 29),
        "amount": decimal.Decimal("12.34"),
        "uid": str(u),
        "kind": "B",
        "props": '{"plan":"pro"}',
        "either": "7",
    }


def test_ndjson_field_first_seen_after_first_batch_is_reported() -> None:
    data = b'{"a": 1}\n{"a": 2}\n{"a": 3, "b": 4}\n'
    with pytest.raises(ReaderError, match=r'^e.ndjson line 3: field "b" does not appear'):
        read_all(data, "e.ndjson", FileSettings("application/x-ndjson"), batch_rows=2)
