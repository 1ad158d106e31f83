"""JSON (a top-level array of flat objects) and NDJSON (one object per line).

JSON has no declared schema, so columns are the keys of the first ``batch_rows`` objects in
first-seen order and every value is kept as text: strings as is, numbers exactly as written,
booleans as ``true``/``false``, nested objects/arrays as compact JSON. The feed editor assigns
types. The C ``json`` decoder does the parsing; positions in errors are exact.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, BinaryIO

import pyarrow as pa

from .base import Reader
from .errors import ReaderError
from .settings import FileSettings
from .streams import CountingStream

CHUNK_CHARS = 1024 * 1024
MAX_OBJECT_CHARS = 16 * 1024 * 1024
_decoder = json.JSONDecoder(parse_float=Decimal)
_WS = " \t\r\n"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=float)


def open_json(
    stream: BinaryIO, name: str, settings: FileSettings, *, batch_rows: int, lines: bool
) -> Reader:
    objects = (
        _ndjson_objects(stream, name, settings) if lines else _array_objects(stream, name, settings)
    )
    first: list[tuple[str, dict[str, Any]]] = []
    for item in objects:
        first.append(item)
        if len(first) >= batch_rows:
            break
    columns: dict[str, None] = {}
    for _, obj in first:
        columns.update(dict.fromkeys(obj))
    schema = pa.schema([(c, pa.string()) for c in columns])

    def to_batch(chunk: list[tuple[str, dict[str, Any]]]) -> pa.RecordBatch:
        data: dict[str, list[str | None]] = {c: [] for c in columns}
        for where, obj in chunk:
            extra = obj.keys() - columns.keys()
            if extra:
                raise ReaderError.at(
                    name,
                    where,
                    f'field "{sorted(extra)[0]}" does not appear in the first {batch_rows} '
                    "objects; the columns are fixed by them",
                )
            for c, values in data.items():
                values.append(_text(obj.get(c)))
        return pa.RecordBatch.from_pydict(data, schema=schema)

    def batches() -> Iterator[pa.RecordBatch]:
        if first:
            yield to_batch(first)
        chunk: list[tuple[str, dict[str, Any]]] = []
        for item in objects:
            chunk.append(item)
            if len(chunk) >= batch_rows:
                yield to_batch(chunk)
                chunk = []
        if chunk:
            yield to_batch(chunk)

    return Reader(schema, batches(), batch_rows=batch_rows)


def _ndjson_objects(
    stream: BinaryIO, name: str, settings: FileSettings
) -> Iterator[tuple[str, dict[str, Any]]]:
    text = io.TextIOWrapper(_buffered(stream), encoding=settings.encoding, errors="strict")
    number = 0
    try:
        for number, line in enumerate(text, start=1):  # noqa: B007
            if not line.strip():
                continue
            try:
                obj = _decoder.decode(line.lstrip("\ufeff"))
            except json.JSONDecodeError as e:
                raise ReaderError.at(
                    name, f"line {number} col {e.colno}", f"invalid JSON ({e.msg})"
                ) from e
            if not isinstance(obj, dict):
                raise ReaderError.at(
                    name, f"line {number}", f"expected a JSON object, found {_kind(obj)}"
                )
            yield f"line {number}", obj
    except UnicodeDecodeError as e:
        raise ReaderError.at(
            name, f"line {number + 1}", f"not valid {settings.encoding} text — try latin-1 ({e})"
        ) from e


def _array_objects(
    stream: BinaryIO, name: str, settings: FileSettings
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Stream the elements of a top-level JSON array without loading the whole file."""
    decoder = codecs.getincrementaldecoder(settings.encoding)(errors="strict")
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
        try:
            data = buffered.read(CHUNK_CHARS)
            buf += decoder.decode(data, final=not data)
        except UnicodeDecodeError as e:
            raise ReaderError.at(
                name, "", f"not valid {settings.encoding} text — try latin-1 ({e})"
            ) from e
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
    pos += 1
    if skip_ws() == "]":
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
                raise ReaderError.at(
                    name, f"record {record + 1} {where(e.pos)}", f"invalid JSON ({e.msg})"
                ) from e
        if not isinstance(obj, dict):
            raise ReaderError.at(
                name,
                f"record {record + 1} {where(pos)}",
                f"expected a JSON object, found {_kind(obj)}",
            )
        record += 1
        at = where(pos)
        pos = end
        yield f"record {record} ({at})", obj
        ch = skip_ws()
        if ch == "]":
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
