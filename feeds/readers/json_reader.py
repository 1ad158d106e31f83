"""JSON (a top-level array of flat objects) and NDJSON (one object per line).

JSON has no declared schema, so columns are the keys of the first ``batch_rows`` objects in
first-seen order and every value is kept as text: strings as is, numbers exactly as written
(every digit), booleans as ``true``/``false``, nested objects/arrays as canonical compact JSON
(keys in file order, non-ASCII kept, numbers as written). A column whose values are all nested
is marked in its field metadata (``NESTED_METADATA``) so inference can call it ``json``.
The feed editor assigns types. The C ``json`` decoder does the parsing; positions in errors
are exact.

Refused, naming the line or record and the key path: nesting deeper than
``SOURCES_MAX_JSON_DEPTH``; strings with a lone surrogate (``"\ud800"``), which no database
text can hold; bytes that are not valid text in the declared encoding; NaN/Infinity inside a
nested value (not JSON); keys longer than a column name can be; a key twice in one object;
text after the closing ``]`` of a JSON array.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import pyarrow as pa

from .base import Reader
from .errors import ReaderError
from .settings import MAX_COLUMN_NAME_CHARS, FileSettings, limit
from .streams import CountingStream

CHUNK_CHARS = 1024 * 1024
MAX_OBJECT_CHARS = 16 * 1024 * 1024
NESTED_METADATA = b"sources.nested"  # field metadata: every value of the column is nested
NOTES_METADATA = b"sources.notes"  # schema metadata: JSON list of what the reader changed
_WS = " \t\r\n"
# A lone surrogate, or the escape that makes one: checked further only where this matches.
_SUSPECT = re.compile(r"[\ud800-\udfff]|\\[uU][dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class _Number(str):
    """A JSON number, exactly as written."""


class _NonFinite(str):
    """NaN, Infinity or -Infinity: accepted by Python's json, but not JSON."""


class _Duplicated(dict):
    """An object that holds a key more than once (``duplicate``): which value is meant cannot
    be told, so the record is refused (Python's json would silently keep the last)."""

    duplicate = ""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    duplicated = _Duplicated(obj)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            duplicated.duplicate = key
            break
        seen.add(key)
    return duplicated


def _duplicate_cause(key: str) -> str:
    return f'the key "{key}" appears more than once in one object; which value is meant is unclear'


_decoder = json.JSONDecoder(
    parse_float=_Number, parse_int=_Number, parse_constant=_NonFinite, object_pairs_hook=_object
)


class _Refusal(Exception):
    """A value cannot be kept; ``path`` is its key path (``a.b[2]``)."""

    def __init__(self, path: str, cause: str) -> None:
        super().__init__(cause)
        self.path = path
        self.cause = cause


def _string(value: str, path: str, bad_bytes: bool, encoding: str) -> str:
    if _SURROGATE.search(value):
        char = _SURROGATE.search(value).group()  # type: ignore[union-attr]
        if bad_bytes and 0xDC80 <= ord(char) <= 0xDCFF:
            cause = (
                f"byte 0x{ord(char) - 0xDC00:02x} is not valid {encoding} text — "
                "is the file latin-1? Change the encoding setting"
            )
        else:
            cause = (
                f"the text holds a lone surrogate (\\u{ord(char):04x}), which is not a "
                "character and cannot be stored"
            )
        raise _Refusal(path, cause)
    return value


class _Values:
    """Turns one record's values into text, checking depth and characters on the way."""

    def __init__(self, max_depth: int, encoding: str, *, check_text: bool, bad_bytes: bool):
        self.max_depth = max_depth
        self.encoding = encoding
        self.check_text = check_text
        self.bad_bytes = bad_bytes

    def text(self, value: Any, key: str) -> str | None:
        if value is None:
            return None
        if isinstance(value, str):
            if self.check_text:
                _string(key, key, self.bad_bytes, self.encoding)
                return _string(value, key, self.bad_bytes, self.encoding)
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        return self.dump(value, key, 2)

    def dump(self, value: Any, path: str, depth: int) -> str:
        """Canonical compact JSON for a nested value; the record itself is depth 1."""
        if isinstance(value, dict | list) and depth > self.max_depth:
            raise _Refusal(path, _too_deep(self.max_depth))
        if isinstance(value, _Duplicated):
            raise _Refusal(f"{path}.{value.duplicate}", _duplicate_cause(value.duplicate))
        if isinstance(value, dict):
            parts = []
            for k, v in value.items():
                inner = f"{path}.{k}"
                key = _string(k, inner, self.bad_bytes, self.encoding) if self.check_text else k
                parts.append(
                    json.dumps(key, ensure_ascii=False) + ":" + self.dump(v, inner, depth + 1)
                )
            return "{" + ",".join(parts) + "}"
        if isinstance(value, list):
            items = (self.dump(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value))
            return "[" + ",".join(items) + "]"
        if isinstance(value, _NonFinite):
            raise _Refusal(path, f"{value} is not a JSON number (only a top-level value may be)")
        if isinstance(value, _Number):
            return str(value)
        if isinstance(value, str):
            if self.check_text:
                value = _string(value, path, self.bad_bytes, self.encoding)
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return "null"


def _too_deep(max_depth: int) -> str:
    return (
        f"a value is nested more than {max_depth} levels deep (the limit is SOURCES_MAX_JSON_DEPTH)"
    )


def _decode_error(name: str, where: str, e: Exception) -> ReaderError:
    if isinstance(e, RecursionError):
        return ReaderError.at(name, where, _too_deep(limit("SOURCES_MAX_JSON_DEPTH")))
    if isinstance(e, json.JSONDecodeError):
        return ReaderError.at(name, where, f"invalid JSON ({e.msg})")
    return ReaderError.at(name, where, f"invalid JSON ({e})")


Record = tuple[str, dict[str, Any], bool, bool]  # where, object, check text, had bad bytes


def open_json(
    stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int, lines: bool
) -> Reader:
    objects = (
        _ndjson_objects(stream, name, settings) if lines else _array_objects(stream, name, settings)
    )
    max_depth = limit("SOURCES_MAX_JSON_DEPTH")
    first: list[Record] = []
    for item in objects:
        first.append(item)
        if len(first) >= batch_rows:
            break
    keys: dict[str, None] = {}
    for where, obj, check, _ in first:
        for key in obj:
            if key not in keys:
                _check_key(key, name, where, check)
                keys[key] = None
    columns, notes = _column_names(list(keys))
    nested = _nested_columns(first, keys)
    schema = pa.schema(
        [
            pa.field(c, pa.string(), metadata={NESTED_METADATA: b"true"} if k in nested else None)
            for k, c in columns.items()
        ],
        metadata={NOTES_METADATA: json.dumps(notes)} if notes else None,
    )

    def to_batch(chunk: list[Record]) -> pa.RecordBatch:
        data: list[list[str | None]] = [[] for _ in columns]
        for where, obj, check, bad_bytes in chunk:
            if isinstance(obj, _Duplicated):
                raise ReaderError.at(
                    name, f'{where}, key "{obj.duplicate}"', _duplicate_cause(obj.duplicate)
                )
            extra = obj.keys() - columns.keys()
            if extra:
                raise ReaderError.at(
                    name,
                    where,
                    f'field "{sorted(extra)[0]}" does not appear in the first {batch_rows} '
                    "objects; the columns are fixed by them",
                )
            values = _Values(max_depth, settings.encoding, check_text=check, bad_bytes=bad_bytes)
            try:
                for out, key in zip(data, columns, strict=True):
                    out.append(values.text(obj.get(key), key))
            except _Refusal as refusal:
                raise ReaderError.at(
                    name, f'{where}, key "{refusal.path}"', refusal.cause
                ) from None
        arrays = [pa.array(values, pa.string()) for values in data]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        if first:
            yield to_batch(first)
        chunk: list[Record] = []
        for item in objects:
            chunk.append(item)
            if len(chunk) >= batch_rows:
                yield to_batch(chunk)
                chunk = []
        if chunk:
            yield to_batch(chunk)

    return Reader(schema, batches(), batch_rows=batch_rows)


def _check_key(key: str, name: str, where: str, check: bool) -> None:
    if len(key) > MAX_COLUMN_NAME_CHARS:
        raise ReaderError.at(
            name,
            where,
            f'the key "{key[:40]}…" is {len(key)} characters long; a column name can have at '
            f"most {MAX_COLUMN_NAME_CHARS} characters",
        )
    if check and _SURROGATE.search(key):
        raise ReaderError.at(
            name,
            where,
            f'the key "{key.encode("utf-8", "replace").decode()}" holds a lone '
            "surrogate, which is not a character and cannot be stored",
        )


def _column_names(keys: list[str]) -> tuple[dict[str, str], list[str]]:
    """key -> column name (an empty key becomes column_N), and notes on what was renamed."""
    columns: dict[str, str] = {}
    notes = []
    for i, key in enumerate(keys, start=1):
        column = key
        if not key:
            column, n = f"column_{i}", 2
            while column in keys:
                column, n = f"column_{i}_{n}", n + 1
            notes.append(f"Key {i} is empty: it is read as {column}.")
        columns[key] = column
    return columns, notes


def _nested_columns(records: list[Record], keys: dict[str, None]) -> set[str]:
    """Keys whose every non-null value in ``records`` is an object or an array."""
    nested: set[str] = set()
    for key in keys:
        kinds = {type(obj.get(key)) for _, obj, _, _ in records} - {type(None)}
        if kinds and kinds <= {dict, list}:
            nested.add(key)
    return nested


def _ndjson_objects(stream: BinaryIO, name: str, settings: FileSettings) -> Iterator[Record]:
    decode = codecs.getdecoder(settings.encoding)
    for number, raw in enumerate(_buffered(stream), start=1):
        line, bad_bytes = _decode_line(raw, decode, settings.encoding)
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            obj = _decoder.decode(line.lstrip("\ufeff") if number == 1 else line)
        except json.JSONDecodeError as e:
            raise _decode_error(name, f"line {number} col {e.colno}", e) from e
        except (RecursionError, ValueError) as e:
            raise _decode_error(name, where, e) from e
        if not isinstance(obj, dict):
            raise ReaderError.at(name, where, f"expected a JSON object, found {_kind(obj)}")
        yield where, obj, bad_bytes or bool(_SUSPECT.search(line)), bad_bytes


def _decode_line(raw: bytes, decode: Any, encoding: str) -> tuple[str, bool]:
    """The line as text; bytes invalid in ``encoding`` become lone surrogates (flagged)."""
    try:
        return decode(raw, "strict")[0], False
    except UnicodeDecodeError:
        return decode(raw, "surrogateescape")[0], True


def _array_objects(stream: BinaryIO, name: str, settings: FileSettings) -> Iterator[Record]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = codecs.getincrementaldecoder(settings.encoding)(errors="surrogateescape")
    buffered = _buffered(stream)
    buf, pos, eof = "", 0, False
    line_base = 1  # line number of buf[0]
    line_start = 0  # index in buf where the current line starts (for columns)
    record = 0

    def more() -> bool:
        nonlocal buf, pos, eof, line_base, line_start
        if eof:
            return False
        consumed = buf[:pos]
        newlines = consumed.count("\n")
        if newlines:
            line_base += newlines
            line_start = consumed.rfind("\n") + 1 - pos
        else:
            line_start -= pos
        buf = buf[pos:]
        pos = 0
        cache[:] = [0, line_base, -1]
        data = buffered.read(CHUNK_CHARS)
        buf += decoder.decode(data, final=not data)
        eof = not data
        return True

    cache = [0, 1, -1]  # index in buf, line number there, index of the last newline before it

    def where(at: int) -> str:
        """'line L col C' for buf[at]; incremental so each call is cheap."""
        if at < cache[0]:
            cache[:] = [0, line_base, -1]
        newlines = buf.count("\n", cache[0], at)
        if newlines:
            cache[1] += newlines
            cache[2] = buf.rfind("\n", cache[0], at)
        cache[0] = at
        col = at - cache[2] if cache[2] >= 0 else at - line_start + 1
        return f"line {cache[1]} col {col}"

    def skip_ws() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not more():
                return ""

    more()
    if buf.startswith("\ufeff"):
        pos = 1
    if skip_ws() != "[":
        raise ReaderError.at(
            name, where(pos), "expected a JSON array of objects ('[' ...) — is this NDJSON?"
        )

    def end_of_array() -> None:
        """After the closing ']' only whitespace may follow: anything else is not this array."""
        nonlocal pos
        pos += 1
        if skip_ws():
            raise ReaderError.at(
                name,
                where(pos),
                f"unexpected text after the closing ']' of the array ({buf[pos : pos + 20]!r}) "
                "— a JSON file holds one array; is this NDJSON, or was something appended?",
            )

    pos += 1
    if skip_ws() == "]":
        end_of_array()
        return
    while True:
        skip_ws()
        while True:
            try:
                obj, end = _decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as e:
                if not eof and len(buf) - pos < MAX_OBJECT_CHARS and more():
                    continue
                raise _decode_error(name, f"record {record + 1} {where(e.pos)}", e) from e
            except (RecursionError, ValueError) as e:
                raise _decode_error(name, f"record {record + 1} {where(pos)}", e) from e
        if not isinstance(obj, dict):
            raise ReaderError.at(
                name,
                f"record {record + 1} {where(pos)}",
                f"expected a JSON object, found {_kind(obj)}",
            )
        record += 1
        at = where(pos)
        suspect = bool(_SUSPECT.search(buf, pos, end))
        bad_bytes = suspect and bool(_SURROGATE.search(buf, pos, end))  # only undecodable bytes
        pos = end
        yield f"record {record} ({at})", obj, suspect, bad_bytes
        ch = skip_ws()
        if ch == "]":
            end_of_array()
            return
        if ch != ",":
            found = repr(ch) if ch else "the end of the file"
            raise ReaderError.at(
                name, f"record {record} {where(pos)}", f"expected ',' or ']' but found {found}"
            )
        pos += 1


def _buffered(stream: BinaryIO) -> io.BufferedReader:
    # CountingStream gives any object with .read() the readinto() BufferedReader needs.
    return io.BufferedReader(CountingStream(stream), buffer_size=1024 * 1024)


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )
