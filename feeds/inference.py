"""Field types for a sample: from Arrow types, and from text values for text columns.

One inference serves the review page (``readers.preview`` fills ``Preview.fields``) and Add Feed
(``feeds.services.sample``), so the type a user is shown is the type the feed is created with.

The rule for numbers is that the chosen type stores every value exactly as written:

* whole numbers (no leading zero) within 64 bits are ``integer``; beyond 64 bits the column is an
  unconstrained ``decimal`` (Postgres numeric), never a float;
* numbers with a fraction are ``decimal(p, s)`` with the largest scale seen, and
  ``p = max(18, integer digits + scale)`` for head room — except that a column whose values
  have a scale over 4 but never more than 15 significant digits is a ``float`` (a double holds
  15 significant digits exactly, so nothing changes); more digits than that stay ``decimal``;
  beyond 76 digits the decimal is unconstrained;
* exponent notation is a ``float`` when a double holds the value (at most 15 significant
  digits, no overflow to infinity or underflow to zero); otherwise unconstrained ``decimal``;
* ``NaN``/``Infinity`` make a column ``float``: only floats can store them (the loader rejects
  them, with row and field, in integer and decimal fields).

"02134" is a code (a ZIP, an account number), not a number: a leading zero keeps it text.
Nested JSON values (objects, arrays; the JSON readers mark such columns) are ``json`` when the
loader has that type (:func:`json_type_name`), else text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa

from feeds.loading import spec
from feeds.readers.canonical_json import is_nested
from feeds.readers.json_reader import NESTED_METADATA

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT_DIGITS = 15  # significant digits a double always keeps exactly
MONEY_SCALE = 4  # up to 4 decimals: money-like, an exact decimal even with few digits
MIN_PRECISION = 18
MAX_PRECISION = spec.MAX_DECIMAL_PRECISION

# "02134" is a code (a ZIP, an account number), not a number: a leading zero keeps it text.
_INT = re.compile(r"^[-+]?(0|[1-9]\d*)$")
_DECIMAL = re.compile(r"^[-+]?(0|[1-9]\d*)?\.(\d+)$")
_EXPONENT = re.compile(r"^[-+]?((0|[1-9]\d*)(\.\d*)?|\.\d+)[eE][-+]?\d+$")
_NON_FINITE = re.compile(r"^[-+]?(nan|inf|infinity)$", re.I)
_BOOL = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # ISO only: what the loader reads
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}(:?\d{2})?)?$"
)

Inferred = tuple[str, int | None, int | None]


@dataclass(frozen=True)
class InferredField:
    name: str
    type: str
    precision: int | None = None
    scale: int | None = None


def json_type_name() -> str:
    """The feed type for nested JSON values: "json" once the loader knows it, else "string"."""
    return "json" if "json" in spec.FIELD_TYPES else "string"


def type_from_arrow(t: pa.DataType) -> str | None:
    """The feed type for an Arrow type; None for text (decide from the values).

    Exact by construction: a 64-bit integer is an integer (never a float), an unsigned 64-bit
    one a decimal (it may exceed bigint), a timestamp without zone a timestamp (not a
    datetime), bytes are bytes, nested values (structs, lists, maps, arrow.json) JSON."""
    if isinstance(t, pa.BaseExtensionType):
        return "json" if t.extension_name == "arrow.json" else type_from_arrow(t.storage_type)
    if pa.types.is_dictionary(t):
        return type_from_arrow(t.value_type)
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_uint64(t):
        return "decimal"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_timestamp(t):
        return "datetime" if t.tz else "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "bytes"
    if is_nested(t):
        return "json"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t):
        return None
    return "string"  # durations, intervals, unions: kept as text


def type_from_arrow_name(name: str) -> str | None:
    """type_from_arrow for an Arrow type as the review page records it (str(type))."""
    if name.startswith("extension<arrow.json"):
        return "json"
    if name.startswith(("struct<", "list<", "large_list<", "fixed_size_list<", "map<")):
        return "json"
    if name.startswith("timestamp"):
        return "datetime" if "tz=" in name else "timestamp"
    if name.startswith("decimal"):
        return "decimal"
    if name.startswith(("time32", "time64")):
        return "time"
    if name.startswith("fixed_size_binary"):
        return "bytes"
    try:
        return type_from_arrow(pa.type_for_alias(name))
    except ValueError:
        return "string"


def _digits(v: str) -> str:
    """The significant digits of a plain number: no sign, point or leading zeros."""
    return v.lstrip("+-").replace(".", "").lstrip("0") or "0"


def _number_type(seen: list[str]) -> Inferred | None:
    """The numeric type every value fits exactly, or None when they are not all numbers."""
    if all(_INT.match(v) for v in seen):
        if all(INT64_MIN <= int(v) <= INT64_MAX for v in seen):
            return "integer", None, None
        return "decimal", None, None
    if all(_DECIMAL.match(v) or _INT.match(v) for v in seen):
        scale = max(len(m.group(2)) for v in seen if (m := _DECIMAL.match(v)))
        digits = max(len(_digits(v)) for v in seen)
        whole = max(len(v.lstrip("+-").split(".")[0].lstrip("0")) for v in seen)
        if scale > MONEY_SCALE and digits <= FLOAT_DIGITS:
            return "float", None, None
        precision = max(MIN_PRECISION, whole + scale)
        if precision > MAX_PRECISION:
            return "decimal", None, None
        return "decimal", precision, scale
    plain = [v for v in seen if not _NON_FINITE.match(v)]
    if all(_DECIMAL.match(v) or _INT.match(v) or _EXPONENT.match(v) for v in plain):
        if all(_float_keeps(v) for v in plain):
            return "float", None, None
        if len(plain) == len(seen):
            return "decimal", None, None
    return None


def _float_keeps(v: str) -> bool:
    """Whether a double holds ``v`` exactly as written (to its significant digits)."""
    mantissa = re.split("[eE]", v)[0]
    if len(_digits(mantissa)) > FLOAT_DIGITS:
        return False
    f = float(v)
    return math.isfinite(f) and (f != 0 or _digits(mantissa) == "0")


def type_from_values(values: Iterable[str | None]) -> Inferred:
    """(type, precision, scale) that every non-empty sample value fits; "string" if none."""
    seen = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not seen:
        return "string", None, None
    if all(v.lower() in _BOOL for v in seen):
        return "boolean", None, None
    number = _number_type(seen)
    if number is not None:
        return number
    if all(_DATE.match(v) and _valid_date(v) for v in seen):
        return "date", None, None
    if all(_DATETIME.match(v) or (_DATE.match(v) and _valid_date(v)) for v in seen):
        return "datetime", None, None
    return "string", None, None


def _valid_date(v: str) -> bool:
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return False
    return True


def is_nested_column(field: pa.Field) -> bool:
    """A text column whose every value is nested JSON (marked by the JSON reader)."""
    return bool(field.metadata) and field.metadata.get(NESTED_METADATA) == b"true"


def infer_field(column: pa.DataType | pa.Field, values: Iterable[str | None]) -> Inferred:
    """(type, precision, scale) for a sample column (Arrow type or field) with ``values``."""
    if isinstance(column, pa.Field):
        if is_nested_column(column):
            return json_type_name(), None, None
        column = column.type
    if pa.types.is_dictionary(column):
        column = column.value_type
    by_arrow = type_from_arrow(column)
    if by_arrow == "decimal":
        if pa.types.is_uint64(column):
            return "decimal", 20, 0  # every uint64 fits numeric(20,0)
        return "decimal", column.precision, column.scale  # type: ignore[attr-defined]
    if by_arrow is not None:
        return by_arrow, None, None
    return type_from_values(values)


def infer_fields(schema: pa.Schema, batch: pa.RecordBatch | None) -> list[InferredField]:
    """One inferred field per column of ``schema`` from the rows of ``batch`` (may be None)."""
    out = []
    for i, column in enumerate(schema):
        values: Sequence[object] = batch.column(i).to_pylist() if batch is not None else []
        texts = [v if isinstance(v, str) or v is None else str(v) for v in values]
        ftype, precision, scale = infer_field(column, texts)
        out.append(InferredField(column.name, ftype, precision, scale))
    return out


FIELD_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def suggest_rename(name: str) -> str:
    """A valid field name for ``name`` (letters, digits, underscores, at most 63 bytes), or ""
    if already valid."""
    if FIELD_NAME.match(name) and len(name) <= spec.MAX_IDENTIFIER_BYTES:
        return ""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name.strip()).strip("_")
    renamed = (cleaned or "field").lower() if cleaned != cleaned.upper() else cleaned.lower()
    return renamed[: spec.MAX_IDENTIFIER_BYTES].rstrip("_") or "field"


def unique_renames(names: list[str]) -> list[str]:
    """Each name, renamed if it must be, and shortened so that no two are the same."""
    out: list[str] = []
    taken: set[str] = set()
    for name in names:
        base = suggest_rename(name) or name
        candidate, n = base, 2
        while candidate in taken:
            suffix = f"_{n}"
            candidate = base[: spec.MAX_IDENTIFIER_BYTES - len(suffix)] + suffix
            n += 1
        taken.add(candidate)
        out.append(candidate)
    return out
