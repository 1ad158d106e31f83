"""Field types for a sample: from Arrow types, and from text values for text columns."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import pyarrow as pa

from feeds.readers.canonical_json import is_nested

# "02134" is a code (a ZIP, an account number), not a number: a leading zero keeps it text.
_INT = re.compile(r"^[-+]?(0|[1-9]\d{0,17})$")
_DECIMAL = re.compile(r"^[-+]?(0|[1-9]\d*)?\.(\d+)$")
_FLOAT = re.compile(
    r"^[-+]?((0|[1-9]\d*)(\.\d*)?|\.\d+)([eE][-+]?\d+)?$|^[-+]?(nan|inf|infinity)$", re.I
)
_BOOL = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")  # ISO only: what the loader reads
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[-+]\d{2}(:?\d{2})?)?$"
)


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


def type_from_values(values: Iterable[str | None]) -> tuple[str, int | None, int | None]:
    """(type, precision, scale) that every non-empty sample value fits; "string" if none."""
    seen = [v.strip() for v in values if v is not None and v.strip() != ""]
    if not seen:
        return "string", None, None
    if all(v.lower() in _BOOL for v in seen) and not all(_INT.match(v) for v in seen):
        return "boolean", None, None
    if all(_INT.match(v) for v in seen):
        return "integer", None, None
    if all(_DECIMAL.match(v) or _INT.match(v) for v in seen):
        scales = [len(m.group(2)) for v in seen if (m := _DECIMAL.match(v))]
        scale = max(scales)
        digits = max(len(v.lstrip("+-").replace(".", "").lstrip("0") or "0") for v in seen)
        whole = max(len(v.lstrip("+-").split(".")[0].lstrip("0")) for v in seen)
        if scale <= 4 and digits <= 18:
            # Money-like values (a few fixed decimals): exact decimal, with head room.
            return "decimal", max(18, whole + scale), scale
        return "float", None, None
    if all(_FLOAT.match(v) for v in seen):
        return "float", None, None
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


def infer_field(t: pa.DataType, values: Iterable[str | None]) -> tuple[str, int | None, int | None]:
    """(type, precision, scale) for a sample column of Arrow type ``t`` with ``values``."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    by_arrow = type_from_arrow(t)
    if by_arrow == "decimal":
        if pa.types.is_uint64(t):
            return "decimal", 20, 0  # every uint64 fits numeric(20,0)
        return "decimal", t.precision, t.scale  # type: ignore[attr-defined]
    if by_arrow is not None:
        return by_arrow, None, None
    return type_from_values(values)


FIELD_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def suggest_rename(name: str) -> str:
    """A valid field name for ``name`` (letters, digits, underscores), or "" if already valid."""
    if FIELD_NAME.match(name):
        return ""
    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name.strip()).strip("_")
    return (cleaned or "field").lower() if cleaned != cleaned.upper() else cleaned.lower()
