"""Nested values (Avro records, arrays, maps; Parquet structs, lists, maps) as JSON text.

One rule for every reader and the loader's JSON field type, so a value reads the same whatever
the file format:
  * compact (no spaces), object keys in the file's order (Postgres' jsonb sorts them anyway);
  * bytes (Avro bytes and fixed, Parquet binary) as a base64 string (RFC 4648, with padding);
  * decimals exactly, as JSON numbers with every digit of the file ("12.50" stays 12.50);
  * datetimes, dates and times as ISO 8601 strings ("2024-01-02T03:04:05.678000+00:00");
    durations as ISO 8601 seconds ("PT90.5S");
  * NaN and infinities, which JSON numbers cannot be, as the strings "NaN", "Infinity" and
    "-Infinity" (what Postgres' to_jsonb does with them);
  * map keys that are not text as their text form.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa

_NON_FINITE = {"nan": '"NaN"', "inf": '"Infinity"', "-inf": '"-Infinity"'}


def to_json(value: Any) -> str:
    """``value`` (Python, as fastavro or Arrow's to_pylist give it) as canonical JSON text."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _write(value: Any, out: list[str]) -> None:  # noqa: C901 - one branch per kind of value
    if value is None:
        out.append("null")
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(repr(value) if math.isfinite(value) else _NON_FINITE[repr(value)])
    elif isinstance(value, Decimal):
        if value.is_finite():
            out.append(str(value))
        else:
            out.append('"NaN"' if value.is_nan() else '"Infinity"' if value > 0 else '"-Infinity"')
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            out.append(_string(key if isinstance(key, str) else _key_text(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, bytes | bytearray | memoryview):
        out.append('"' + base64.b64encode(bytes(value)).decode("ascii") + '"')
    elif isinstance(value, dt.datetime | dt.date | dt.time):
        out.append('"' + value.isoformat() + '"')
    elif isinstance(value, dt.timedelta):
        seconds = Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / 10**6
        out.append(f'"PT{seconds.normalize():f}S"')
    elif isinstance(value, uuid.UUID):
        out.append(_string(str(value)))
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def value_text(value: Any) -> str | None:
    """A value as text, the one way pages and messages show it: text as is, booleans as
    true/false, numbers with every digit, dates and times ISO 8601, bytes as hex, nested values
    as canonical JSON; None stays None."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, pa.Scalar):
        return value_text(value.as_py())
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal | uuid.UUID):
        return str(value)
    return to_json(value)


def _key_text(key: Any) -> str:
    text = to_json(key)
    return text[1:-1] if text.startswith('"') else text


def arrow_values(arr: pa.Array) -> list[Any]:
    """An Arrow array's values as Python, Arrow maps (lists of pairs there) made dicts."""
    return [_plain(v, arr.type) for v in arr.to_pylist()]


def _plain(value: Any, t: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_dictionary(t):
        return _plain(value, t.value_type)
    if pa.types.is_map(t):
        return {_key_text(k) if not isinstance(k, str) else k: _plain(v, t.item_type)
                for k, v in value}  # fmt: skip
    if pa.types.is_struct(t):
        return {t.field(i).name: _plain(value[t.field(i).name], t.field(i).type)
                for i in range(t.num_fields)}  # fmt: skip
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return [_plain(v, t.value_type) for v in value]
    return value


def is_nested(t: pa.DataType) -> bool:
    return (
        pa.types.is_struct(t)
        or pa.types.is_map(t)
        or pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )
