"""Text readers (CSV/TSV/PSV, JSON, NDJSON) and type inference: what loads is what the file
says, or the file is refused naming the place. Pure reader tests: no database."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pytest

from feeds.inference import (
    infer_field,
    infer_fields,
    json_type_name,
    suggest_rename,
    type_from_values,
)
from feeds.readers import FileSettings, ReaderError, infer_settings, open_reader, preview

CSV = FileSettings("text/csv")
TSV = FileSettings("text/tab-separated-values", delimiter="\t")
JSON = FileSettings("application/json")
NDJSON = FileSettings("application/x-ndjson")


class Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._f = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        data = self._f.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def read_all(data: bytes, name: str, settings: FileSettings, **kw) -> pa.Table:  # type: ignore[no-untyped-def]
    reader = open_reader(Unseekable(data), name, settings, **kw)
    return pa.Table.from_batches(list(reader.batches()), schema=reader.schema)


def refusal(data: bytes, name: str, settings: FileSettings, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ReaderError) as e:
        read_all(data, name, settings, **kw)
    return str(e.value)


# --- 1. inference never picks a type that changes values ----------------------------------------


@pytest.mark.parametrize(
    "values, expected",
    [
        (["9007199254740993", "1"], ("integer", None, None)),  # beyond 2^53: still exact
        (["9223372036854775807", "-9223372036854775808"], ("integer", None, None)),
        (["9223372036854775808", "1"], ("decimal", None, None)),  # beyond int64: numeric
        (["123456789012345678901234567890"], ("decimal", None, None)),
        (["123456789012345678901234567890123456.78", "1.5"], ("decimal", 38, 2)),
        (["0.1234567890123456789", "1"], ("decimal", 20, 19)),  # 19 digits: a double loses them
        (["1e400", "2"], ("decimal", None, None)),  # a double would make it inf
        (["3.14159", "2.5"], ("float", None, None)),  # 15 digits or fewer: a double is exact
        (["1.5e3", "2"], ("float", None, None)),
        (["NaN", "1.5"], ("float", None, None)),  # NaN is a float value, kept as such
        (["10.25", "3.10"], ("decimal", 18, 2)),
    ],
)
def test_inference_keeps_every_digit(values: list[str], expected: tuple) -> None:  # type: ignore[type-arg]
    assert type_from_values(values) == expected


def test_preview_and_sample_inference_agree_on_big_numbers() -> None:
    data = b"id\tamount\n9007199254740993\t123456789012345678901234567890123456.78\n"
    p = preview(Unseekable(data), "t.tsv", TSV)
    assert p.rows == [["9007199254740993", "123456789012345678901234567890123456.78"]]
    fields = infer_fields(p.schema, p.sample)
    assert [f.type for f in fields] == ["integer", "decimal"]
    assert (fields[1].precision, fields[1].scale) == (38, 2)


def test_tsv_settings_survive_the_trip_through_land_as() -> None:
    """What the review preview reads with is what a run reads with (escape, encoding)."""
    data = 'id\tnote\n1\tsays \\"hi\\"\n2\tcafé\n'.encode("latin-1")
    inferred = infer_settings("x.tsv", data)
    assert (inferred.escape, inferred.encoding) == ("\\", "latin-1")
    landed = FileSettings.from_land_as(inferred.to_land_as(), name="x.tsv")
    assert landed == inferred
    shown = preview(Unseekable(data), "x.tsv", inferred).rows
    loaded = read_all(data, "x.tsv", landed).to_pylist()
    assert shown == [[r["id"], r["note"]] for r in loaded] == [["1", 'says "hi"'], ["2", "café"]]


# --- 2. a declared delimiter that is not in line 1 ----------------------------------------------


def test_declared_delimiter_missing_from_the_header_is_refused() -> None:
    data = b"id;name;city\n1;Ann;Paris\n"
    message = refusal(data, "users.csv", CSV)
    assert message == (
        'users.csv line 1: the declared delimiter "," does not occur, but ";" does: '
        "change the delimiter setting"
    )


def test_declared_delimiter_missing_from_the_first_data_line_is_refused() -> None:
    data = b"1\tAnn\tParis\n"
    message = refusal(data, "u.csv", FileSettings("text/csv", header_rows=0))
    assert message.startswith('u.csv line 1: the declared delimiter "," does not occur, but tab')


def test_a_single_column_file_is_fine() -> None:
    assert read_all(b"email\na@x.io\n", "e.csv", CSV).num_rows == 1
    assert read_all(b'"a;b"\n"c;d"\n', "e.csv", CSV).column("a;b").to_pylist() == ["c;d"]


# --- 3. quotes that never close ---------------------------------------------------------------


def test_unterminated_quote_at_end_of_file_names_the_line_it_opened() -> None:
    data = b'id,name\n1,Ann\n2,"Bob\n3,Cy\n4,Di\n'
    message = refusal(data, "users.csv", CSV)
    assert message.startswith("users.csv line 3: a quoted value opens here and is never closed")


def test_runaway_quote_past_the_limit_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SOURCES_MAX_QUOTED_VALUE_BYTES = 1000
    rows = b"".join(b"%d,row %d\n" % (i, i) for i in range(5, 5000))
    data = b'id,name\n1,Ann\n2,"Bob\n' + rows + b'9999,"x"\n'
    message = refusal(data, "users.csv", CSV)
    assert message.startswith(
        "users.csv line 3: a quoted value opens here and runs past 1000 bytes"
    )
    assert "SOURCES_MAX_QUOTED_VALUE_BYTES" in message


def test_a_quoted_value_over_several_lines_still_loads() -> None:
    data = b'id,note\n1,"two\nlines"\n2,"with ""quotes"",\r\nand CRLF"\n3,"x"y\n4,5" screen\n'
    table = read_all(data, "n.csv", CSV, batch_rows=2)
    assert table.column("note").to_pylist() == [
        "two\nlines",
        'with "quotes",\r\nand CRLF',
        "xy",
        '5" screen',
    ]


def test_quote_scanning_across_read_boundaries() -> None:
    """The value straddles the scanner's chunks; nothing is refused, everything is kept."""
    big = b"x" * (400 * 1024)  # the head peek and pyarrow blocks cut through it
    data = b'id,note\n1,"' + big + b"\n" + big + b'"\n2,y\n'
    table = read_all(data, "n.csv", CSV)
    assert table.column("note").to_pylist() == [(big + b"\n" + big).decode(), "y"]


# --- 4. NUL bytes and text that is not in the declared encoding --------------------------------


def test_invalid_utf8_names_line_and_field() -> None:
    data = b"id,name,city\n1,Ann,Paris\n2,Bob,Z\xfcrich\n"
    message = refusal(data, "users.csv", CSV)
    assert message.startswith('users.csv line 3, field "city": byte 0xfc is not valid utf-8')
    assert "latin-1" in message


def test_invalid_utf8_in_ndjson_names_line_and_field() -> None:
    data = b'{"id": 1, "name": "Ann"}\n{"id": 2, "name": "Z\xfcrich"}\n'
    message = refusal(data, "u.ndjson", NDJSON)
    assert message.startswith('u.ndjson line 2, key "name": byte 0xfc is not valid utf-8')
    array = b'[{"id": 1, "name": "Ann"},\n {"id": 2, "name": "Z\xfcrich"}]'
    message = refusal(array, "u.json", JSON)
    assert message.startswith('u.json record 2 (line 2 col 2), key "name": byte 0xfc is not')


def test_nul_bytes_are_kept_for_the_loader_to_reject_the_row() -> None:
    table = read_all(b"id,name\n1,A\x00n\n2,Bob\n", "n.csv", CSV)
    assert table.column("name").to_pylist() == ["A\x00n", "Bob"]


# --- 5. no exception but ReaderError, with a place ---------------------------------------------


def test_json_nested_too_deep_is_refused_naming_the_setting() -> None:
    deep = '{"a": ' * 10_000 + "1" + "}" * 10_000
    assert infer_settings("deep", f'{{"x": {deep}}}\n'.encode()).content_type == NDJSON.content_type
    message = refusal(f'{{"id": 1, "x": {deep}}}\n'.encode(), "deep.ndjson", NDJSON)
    assert message.startswith("deep.ndjson line 1: ")
    assert "nested more than 64 levels deep (the limit is SOURCES_MAX_JSON_DEPTH)" in message
    message = refusal(f'[{{"id": 1, "x": {deep}}}]'.encode(), "deep.json", JSON)
    assert message.startswith("deep.json record 1")
    assert "SOURCES_MAX_JSON_DEPTH" in message


def test_json_nesting_within_the_limit_loads(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SOURCES_MAX_JSON_DEPTH = 5
    ok = '{"id": 1, "x": {"a": {"b": {"c": [1]}}}}\n'
    assert read_all(ok.encode(), "ok.ndjson", NDJSON).column("x").to_pylist() == [
        '{"a":{"b":{"c":[1]}}}'
    ]
    too_deep = '{"id": 1, "x": {"a": {"b": {"c": [[1]]}}}}\n'
    message = refusal(too_deep.encode(), "d.ndjson", NDJSON)
    assert message.startswith('d.ndjson line 1, key "x.a.b.c[0]": ')


def test_lone_surrogate_is_refused_naming_line_and_field() -> None:
    data = b'{"id": 1, "name": "Ann"}\n{"id": 2, "name": "A\\ud800b"}\n'
    message = refusal(data, "s.ndjson", NDJSON)
    assert message.startswith('s.ndjson line 2, key "name": ')
    assert "lone surrogate" in message
    nested = b'[{"id": 1, "tags": {"k": ["x\\udc00"]}}]'
    assert refusal(nested, "s.json", JSON).startswith(
        's.json record 1 (line 1 col 2), key "tags.k[0]"'
    )
    key = b'{"id": 1, "n\\ud800": 2}\n'
    assert "lone surrogate" in refusal(key, "k.ndjson", NDJSON)


def test_valid_surrogate_pairs_load() -> None:
    data = b'{"id": 1, "emoji": "\\ud83d\\ude00"}\n'
    assert read_all(data, "e.ndjson", NDJSON).column("emoji").to_pylist() == ["\U0001f600"]


def test_long_column_names_are_refused_naming_the_column() -> None:
    name = "n" * 250
    message = refusal(f"id,{name}\n1,2\n".encode(), "wide.csv", CSV)
    assert message.startswith("wide.csv line 1: the name of column 2 is 250 characters long")
    assert "200" in message
    message = refusal(f'{{"id": 1, "{name}": 2}}\n'.encode(), "wide.ndjson", NDJSON)
    assert message.startswith(f'wide.ndjson line 1: the key "{"n" * 40}…" is 250 characters long')


def test_names_over_63_bytes_get_a_short_unique_rename() -> None:
    long_a, long_b = "a" * 70 + "_x", "a" * 70 + "_y"
    rename = suggest_rename(long_a)
    assert rename and len(rename.encode()) <= 63
    data = f"id,{long_a},{long_b}\n1,2,3\n".encode()
    assert read_all(data, "w.csv", CSV).schema.names == ["id", long_a, long_b]


# --- 6. duplicate and blank header names --------------------------------------------------------


def test_duplicate_and_blank_header_names_keep_the_header_and_say_so() -> None:
    data = b"id,email,,email\n1,a@x.io,7,b@x.io\n2,c@x.io,8,d@x.io\n"
    settings = infer_settings("dup.csv", data)
    assert settings.header_rows == 1
    p = preview(Unseekable(data), "dup.csv", settings)
    assert p.columns == ["id", "email", "column_3", "email_2"]
    assert p.notes == [
        "Column 3 has no name in the header: it is read as column_3.",
        'Column 4 repeats the name "email": it is read as email_2.',
    ]
    loaded = read_all(data, "dup.csv", settings)
    assert loaded.schema.names == p.columns
    assert [[r[c] for c in p.columns] for r in loaded.to_pylist()] == p.rows


# --- 7. nested JSON -----------------------------------------------------------------------------


def test_nested_values_are_canonical_json_text_with_every_digit() -> None:
    data = (
        b'{"id": 1, "props": {"price": 0.1000000000000000055511, "big": 12345678901234567890,'
        b' "name": "caf\\u00e9"}, "tags": ["a", 1.50]}\n'
    )
    table = read_all(data, "n.ndjson", NDJSON)
    props = table.column("props").to_pylist()[0]
    assert props == '{"price":0.1000000000000000055511,"big":12345678901234567890,"name":"café"}'
    assert json.loads(props)["name"] == "café"
    assert table.column("tags").to_pylist() == ['["a",1.50]']


def test_nested_columns_are_inferred_as_json_only_when_the_loader_has_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from feeds.loading import spec

    data = b'{"id": 1, "props": {"a": 1}, "tags": ["x"], "mixed": "s"}\n{"id": 2, "mixed": [1]}\n'
    reader = open_reader(Unseekable(data), "n.ndjson", NDJSON)
    batch = next(reader.batches())
    values = {f.name: batch.column(f.name).to_pylist() for f in reader.schema}
    monkeypatch.setattr(spec, "FIELD_TYPES", (*spec.FIELD_TYPES, "json"))
    assert json_type_name() == "json"
    types = {f.name: infer_field(f, values[f.name])[0] for f in reader.schema}
    assert types == {"id": "integer", "props": "json", "tags": "json", "mixed": "string"}
    monkeypatch.setattr(spec, "FIELD_TYPES", tuple(t for t in spec.FIELD_TYPES if t != "json"))
    assert {f.name: infer_field(f, values[f.name])[0] for f in reader.schema}["props"] == "string"


def test_line_numbers_count_crlf_and_cr_line_ends_once() -> None:
    data = b'id,name\r\n1,"Ann"\r\n2,"Bo"\r3,"Cy"\r\n4,"D\xffi"\r\n'
    assert refusal(data, "crlf.csv", CSV).startswith('crlf.csv line 5, field "name": byte 0xff')
    runaway = b'id,name\r\n1,"Ann"\r\n2,"Bo\r\n3,Cy\r\n'
    assert refusal(runaway, "crlf.csv", CSV).startswith("crlf.csv line 3: a quoted value opens")


def test_courier_land_as_accepts_the_escape_and_encoding_it_now_carries() -> None:
    from couriers.config import validate_entities

    land_as = FileSettings("text/csv", escape="\\", encoding="latin-1").to_land_as()
    entity = {
        "object/type": "file",
        "object/file-pattern": "'x.csv'",
        "object/land-as": {"file/tag": "x", **land_as},
    }
    assert [p for p in validate_entities([entity]) if p] == []
    entity["object/land-as"]["file/encoding"] = "utf-16"
    assert any("file/encoding: unknown encoding" in p for p in validate_entities([entity]))


# --- 8. what the hostile-file corpus found ------------------------------------------------------


def test_cr_only_line_ends_are_line_ends() -> None:
    """Classic Mac files end lines with CR alone: each is a row, as pyarrow and Excel read them."""
    data = b"id,name\r3,Cyd\r4,Dee\r"
    table = read_all(data, "mac.csv", CSV)
    assert table.to_pylist() == [{"id": "3", "name": "Cyd"}, {"id": "4", "name": "Dee"}]
    settings = infer_settings("mac.csv", data)
    assert preview(Unseekable(data), "mac.csv", settings).rows == [["3", "Cyd"], ["4", "Dee"]]
    bad = b"id,name\r3,Cyd\r4,D\xffe\r"
    assert refusal(bad, "mac.csv", CSV).startswith('mac.csv line 3, field "name": byte 0xff')


def test_text_after_the_json_array_is_refused_naming_the_line() -> None:
    message = refusal(b'[{"id": 3, "name": "Cyd"}]\nxyz\n', "t.json", JSON)
    assert message.startswith("t.json line 2 col 1: ")
    assert "after the closing ']'" in message
    assert refusal(b"[]\n[]\n", "t.json", JSON).startswith("t.json line 2 col 1: ")
    assert read_all(b'[{"id": 3}]\n \r\n', "t.json", JSON).column("id").to_pylist() == ["3"]


def test_a_key_twice_in_one_object_is_refused_naming_line_and_key() -> None:
    data = b'{"id": 3, "name": "Cyd"}\n{"id": 4, "name": "a", "name": "b"}\n'
    message = refusal(data, "d.ndjson", NDJSON)
    assert message.startswith('d.ndjson line 2, key "name": ')
    assert "more than once" in message
    nested = b'[{"id": 3, "attrs": {"a": 1, "b": {"c": 1, "c": 2}}}]'
    message = refusal(nested, "d.json", JSON)
    assert message.startswith('d.json record 1 (line 1 col 2), key "attrs.b.c": ')
    settings = infer_settings("d.ndjson", data)
    with pytest.raises(ReaderError, match='line 2, key "name"'):
        preview(Unseekable(data), "d.ndjson", settings)
