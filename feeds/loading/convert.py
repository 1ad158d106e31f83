"""Convert incoming Arrow columns to the feed's field types, in bulk, finding the bad rows.

The fast path is one vectorised Arrow cast per column per batch. Only when that fails for a
column does the column go through the slow path: a vectorised format check (regex) marks the
values that cannot possibly convert, and the remaining failures (month 13, integer overflow,
too many decimal places) are located by bisection with the same converter, so a value converts
the same way whatever batch it sits in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from feeds.readers.canonical_json import arrow_values, is_nested, to_json, value_text

from .spec import FieldSpec

Converter = Callable[[pa.Array], pa.Array]

TS_UTC = pa.timestamp("us", tz="UTC")
TS_NAIVE = pa.timestamp("us")
MIN_DAY = int(np.datetime64("0001-01-01", "D").astype(np.int64))  # days since 1970-01-01
MAX_DAY = int(np.datetime64("9999-12-31", "D").astype(np.int64))

# Boolean scalars made without pa.scalar(), which imports pandas (~50 MB of RSS) on first use:
# the typed (Avro/Parquet) path then never loads pandas into the loading process.
TRUE = pc.is_null(pa.nulls(1))[0]
FALSE = pc.is_valid(pa.nulls(1))[0]

TRUE_WORDS = ("true", "t", "yes", "y", "1")
FALSE_WORDS = ("false", "f", "no", "n", "0")

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)"
FORMATS = {  # RE2 patterns: a value not matching can never convert
    "integer": r"^[+-]?\d+$",
    "float": rf"^(?:{_NUMBER}(?:[eE][+-]?\d+)?|[+-]?(?i:nan|inf|infinity))$",
    "decimal": rf"^{_NUMBER}(?:[eE][+-]?\d{{1,3}})?$",
    "date": rf"^{_DATE}(?:{_TIME}{_ZONE}?)?$",
    "datetime": rf"^{_DATE}(?:{_TIME}{_ZONE}?)?$",
    "timestamp": rf"^{_DATE}(?:{_TIME}{_ZONE}?)?$",
    "time": r"^\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$",
    "bytes": r"^(?:\\x|0x)?(?:[0-9a-fA-F]{2})*$",
}
ZONE_SUFFIX = rf"\d{_ZONE}$"  # a time followed by a zone; "2024-01-02" alone has none
NON_FINITE = r"^[+-]?(?i:nan|inf|infinity)$"  # only a float field stores these
ZERO = r"^[+-]?(?:0+\.?0*|\.0+)(?:[eE][+-]?\d+)?$"  # text whose value really is 0

REASONS = {
    "boolean": "is not a boolean (true/false, yes/no, 1/0)",
    "bytes": "is not bytes (in a text file: hex digits, e.g. \\x00ff)",
    "json": "is not JSON",
    "time": "is not a time of day (hh:mm:ss)",
    "timestamp": "is not a timestamp (YYYY-MM-DD hh:mm:ss)",
    "date": "is not a date (YYYY-MM-DD)",
    "datetime": "is not a datetime (YYYY-MM-DD hh:mm:ss, optional zone)",
    "float": "is not a number",
    "integer": "is not a 64-bit integer",
    "string": "is not text",
}
MISSING_REQUIRED = "required value is missing"
MISSING_KEY = "primary key value is missing"
NUL_IN_TEXT = "contains a NUL character, which Postgres cannot store"
NUL_IN_JSON = "contains a NUL character (\\u0000), which Postgres cannot store in JSON"
SUB_MICROSECOND = "has nanoseconds, which Postgres cannot store (it keeps microseconds)"
NOT_EXACT_FLOAT = "cannot be stored exactly as a float (beyond 2^53)"
# An odd number of backslashes before u0000: a NUL escape, not an escaped backslash + "u0000".
_JSON_NUL = r"(?:^|[^\\])(?:\\\\)*\\u0000"
# Postgres numeric (and so jsonb numbers) holds 131072 digits before the point, 16383 after.
_MAX_JSON_EXPONENT, _MIN_JSON_EXPONENT = 131_071, -16_383
OUT_OF_RANGE = "is out of range (years 0001-9999)"
FLOAT_OUT_OF_RANGE = "is out of range for a float (double precision): it would be stored as {}"
NOT_FINITE = "is not a finite number: NaN and Infinity can only be loaded into a float field"
MAX_VALUE_CHARS = 200


def reason_for(f: FieldSpec) -> str:
    if f.type == "decimal":
        if f.precision is None:
            return "is not a decimal number"
        return f"does not fit decimal({f.precision},{f.scale or 0})"
    return REASONS[f.type]


def typed_reason(f: FieldSpec, incoming: pa.DataType) -> str:
    """Why a typed (Avro/Parquet) value does not convert, where the plain reason would mislead."""
    unit = getattr(incoming, "unit", None)
    if unit == "ns" and f.type in ("datetime", "timestamp", "time"):
        return SUB_MICROSECOND
    if f.type == "float" and pa.types.is_integer(incoming):
        return NOT_EXACT_FLOAT
    return reason_for(f)


def _json_number(text: str) -> Decimal:
    number = Decimal(text)
    if number and not _MIN_JSON_EXPONENT <= number.adjusted() <= _MAX_JSON_EXPONENT:
        raise ValueError("a number out of Postgres' range")
    return number


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def json_text(text: str) -> str:
    """Valid JSON text, re-written canonically; ValueError if it is not JSON Postgres takes."""
    value = json.loads(
        text, parse_float=_json_number, parse_int=_json_number, parse_constant=_no_constant
    )
    out = to_json(value)
    out.encode("utf-8")  # a lone surrogate escape ("\ud800") is refused here
    return out


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def blank_to_null(arr: pa.Array) -> pa.Array:
    """Trim whitespace; an empty value becomes null."""
    trimmed = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed)


def _datetime_from_text(s: pa.Array) -> pa.Array:
    """ISO datetimes with or without T, with or without zone; no zone means UTC."""
    attempts = [lambda: pc.cast(s, TS_UTC), lambda: pc.cast(pc.cast(s, TS_NAIVE), TS_UTC)]
    first = pc.drop_null(s.slice(0, 64))
    if len(first) and not re.search(ZONE_SUFFIX, first[0].as_py()):
        attempts.reverse()  # try the likelier form first: a failed cast is not free
    for attempt in attempts:
        try:
            return attempt()
        except pa.ArrowInvalid:
            pass
    zoned = pc.fill_null(pc.match_substring_regex(s, ZONE_SUFFIX), FALSE)
    if not pc.any(zoned).as_py():
        raise pa.ArrowInvalid("not a datetime")
    null = pa.scalar(None, s.type)
    with_zone = pc.cast(pc.if_else(zoned, s, null), TS_UTC)
    without = pc.cast(pc.cast(pc.if_else(zoned, null, s), TS_NAIVE), TS_UTC)
    return pc.if_else(zoned, with_zone, without)


def _date_from_text(s: pa.Array) -> pa.Array:
    """ISO dates; a datetime is accepted and its (local) date part kept."""
    try:
        return pc.cast(s, pa.date32())
    except pa.ArrowInvalid:
        pass
    longer = pc.fill_null(pc.greater(pc.utf8_length(s), 10), FALSE)
    if not pc.any(longer).as_py():
        raise pa.ArrowInvalid("not a date")
    _datetime_from_text(pc.if_else(longer, s, pa.scalar(None, s.type)))  # validates the time part
    return pc.cast(pc.utf8_slice_codeunits(s, 0, 10), pa.date32())


def _timestamp_from_text(s: pa.Array) -> pa.Array:
    """A timestamp without zone: as written; a value with a zone is taken at its UTC time."""
    return pc.cast(_datetime_from_text(s), TS_NAIVE)


def _time_from_text(s: pa.Array) -> pa.Array:
    """hh:mm[:ss[.ffffff]] (Arrow cannot cast text to a time: parse it on a fixed day)."""
    on_day = pc.binary_join_element_wise(pa.scalar("1970-01-01T"), s, "")
    return pc.cast(pc.cast(on_day, TS_NAIVE), pa.time64("us"))


_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _bytes_from_hex(s: pa.Array) -> pa.Array:
    """Hex digits, optionally after "\\x" (Postgres' form) or "0x"."""
    out: list[bytes | None] = []
    for value in s.to_pylist():
        if value is None:
            out.append(None)
            continue
        digits = value[2:] if value[:2] in ("\\x", "0x") else value
        if not _HEX.fullmatch(digits):
            raise pa.ArrowInvalid("not hex")
        out.append(bytes.fromhex(digits))
    return pa.array(out, pa.binary())


def _cast_to(target: pa.DataType) -> Converter:
    opts = pc.CastOptions(target, allow_time_truncate=True)
    return lambda a: pc.cast(a, options=opts)


@dataclass
class ColumnPlan:
    """How one field's incoming column becomes its staging column."""

    field: FieldSpec
    index: int
    key: bool  # part of the primary key
    target: pa.DataType

    @property
    def required(self) -> bool:
        return self.key or self.field.required

    def convert(self, arr: pa.Array | None, n: int) -> tuple[pa.Array, dict[int, str]]:
        """Return the converted column and {row index: reason} for values that are bad."""
        bad: dict[int, str] = {}
        if arr is None:  # column missing from the file: all nulls
            out = pa.nulls(n, self.target)
        else:
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if pa.types.is_dictionary(arr.type):
                arr = arr.dictionary_decode()
            out = self._convert_values(arr, bad)
        self._check_range(out, bad)
        if self.required:
            missing = pc.is_null(out)
            if self.field.type == "string":
                missing = pc.or_(missing, pc.equal(out, ""))
            missing = pc.fill_null(missing, TRUE)
            if pc.any(missing).as_py():
                reason = MISSING_KEY if self.key else MISSING_REQUIRED
                for i in np.flatnonzero(missing.to_numpy(zero_copy_only=False)):
                    bad.setdefault(int(i), reason)
        return out, bad

    def _convert_values(self, arr: pa.Array, bad: dict[int, str]) -> pa.Array:
        ftype = self.field.type
        reason = reason_for(self.field)
        if isinstance(arr.type, pa.BaseExtensionType):  # arrow.json: canonical JSON text
            arr = arr.storage
        if ftype == "json":
            return self._to_json(arr, bad)
        if is_nested(arr.type):
            if ftype == "string":  # kept as its JSON text
                return self._to_json(arr, bad)
            self._reject_where(pc.is_valid(arr), reason, bad)
            return pa.nulls(len(arr), self.target)
        text = is_text(arr.type)
        if ftype == "string":
            out = arr if text else _bisect(arr, _cast_to(pa.string()), pa.string(), bad, reason)
            has_nul = pc.fill_null(pc.match_substring(out, "\x00"), FALSE)
            if pc.any(has_nul).as_py():
                for i in np.flatnonzero(has_nul.to_numpy(zero_copy_only=False)):
                    bad.setdefault(int(i), NUL_IN_TEXT)
            return out
        if ftype == "bytes" and not text:
            if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type) or \
                    pa.types.is_fixed_size_binary(arr.type):  # fmt: skip
                return pc.cast(arr, pa.binary())
            self._reject_where(pc.is_valid(arr), reason, bad)
            return pa.nulls(len(arr), self.target)
        if not text:  # typed input (Avro/Parquet): a plain cast, bisected on failure
            if pa.types.is_floating(arr.type) and ftype in ("integer", "decimal"):
                finite = pc.fill_null(pc.is_finite(arr), TRUE)
                self._reject_where(pc.invert(finite), NOT_FINITE, bad)
            if ftype == "decimal" and (
                self.field.precision is None or pa.types.is_floating(arr.type)
            ):
                # By the value's text: a float's shortest form must fit the scale (2.5 never
                # rounds into decimal(p,0)), NaN and infinities are rejected.
                arr = _bisect(arr, _cast_to(pa.string()), pa.string(), bad, reason)
                return self._text_to_target(blank_to_null(arr), bad, reason)
            strict = pc.CastOptions(self.target)
            return _bisect(arr, lambda a: pc.cast(a, options=strict), self.target, bad,
                           typed_reason(self.field, arr.type))  # fmt: skip
        return self._text_to_target(blank_to_null(arr), bad, reason)

    def _to_json(self, arr: pa.Array, bad: dict[int, str]) -> pa.Array:
        """JSON text per value: text input validated and re-written canonically, any other
        value (nested or scalar) written as JSON (canonical_json.py)."""
        reason = reason_for(self.field)
        out: list[str | None] = []
        if is_text(arr.type):
            for i, value in enumerate(arr.to_pylist()):
                if value is None or not value.strip():
                    out.append(None)
                    continue
                try:
                    out.append(json_text(value))
                except (ValueError, RecursionError):
                    bad.setdefault(i, reason)
                    out.append(None)
        else:
            for i, value in enumerate(arrow_values(arr)):
                try:
                    out.append(None if value is None else to_json(value))
                except (TypeError, ValueError):
                    bad.setdefault(i, reason)
                    out.append(None)
        result = pa.array(out, pa.string())
        has_nul = pc.fill_null(pc.match_substring_regex(result, _JSON_NUL), FALSE)
        if pc.any(has_nul).as_py():
            self._reject_where(has_nul, NUL_IN_JSON, bad)
            result = pc.if_else(has_nul, pa.scalar(None, pa.string()), result)
        return result

    def _text_to_target(self, s: pa.Array, bad: dict[int, str], reason: str) -> pa.Array:
        out = self._parse_text(s, bad, reason)
        if self.field.type == "float":
            self._reject_float_overflow(s, out, bad)
        elif self.field.type in ("integer", "decimal"):
            literal = pc.fill_null(pc.match_substring_regex(s, NON_FINITE), FALSE)
            for i in np.flatnonzero(literal.to_numpy(zero_copy_only=False)):
                bad[int(i)] = NOT_FINITE
        return out

    def _reject_float_overflow(self, s: pa.Array, out: pa.Array, bad: dict[int, str]) -> None:
        """A number a double cannot hold became ±inf or 0 in the cast: reject it, don't change it."""
        infinite = pc.fill_null(pc.is_inf(out), FALSE)
        zero = pc.fill_null(pc.equal(out, 0.0), FALSE)
        if not (pc.any(infinite).as_py() or pc.any(zero).as_py()):
            return
        literal = pc.fill_null(pc.match_substring_regex(s, NON_FINITE), FALSE)
        really_zero = pc.fill_null(pc.match_substring_regex(s, ZERO), FALSE)
        overflow = pc.and_(infinite, pc.invert(literal))
        underflow = pc.and_(zero, pc.invert(really_zero))
        for mask, became in ((overflow, "infinity"), (underflow, "0")):
            for i in np.flatnonzero(mask.to_numpy(zero_copy_only=False)):
                bad.setdefault(int(i), FLOAT_OUT_OF_RANGE.format(became))

    def _parse_text(self, s: pa.Array, bad: dict[int, str], reason: str) -> pa.Array:
        ftype = self.field.type
        if ftype == "boolean":
            lower = pc.utf8_lower(s)
            is_true = pc.is_in(lower, value_set=pa.array(TRUE_WORDS))
            is_false = pc.is_in(lower, value_set=pa.array(FALSE_WORDS))
            wrong = pc.and_(pc.is_valid(s), pc.invert(pc.or_(is_true, is_false)))
            if pc.any(wrong).as_py():
                self._reject_where(wrong, reason, bad)
            return pc.if_else(
                is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_()))
            )
        if ftype == "decimal" and self.field.precision is None:
            # Unconstrained numeric: Postgres parses the text; make sure it will.
            ok = pc.match_substring_regex(s, FORMATS["decimal"])
            wrong = pc.fill_null(pc.invert(ok), FALSE)
            if pc.any(wrong).as_py():
                self._reject_where(wrong, reason, bad)
                s = pc.if_else(wrong, pa.scalar(None, s.type), s)
            return s
        if ftype == "datetime":
            conv: Converter = _datetime_from_text
        elif ftype == "timestamp":
            conv = _timestamp_from_text
        elif ftype == "date":
            conv = _date_from_text
        elif ftype == "time":
            conv = _time_from_text
        elif ftype == "bytes":
            conv = _bytes_from_hex
        else:
            conv = _cast_to(self.target)
        try:
            return conv(s)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        # Slow path: drop the values whose format is wrong in bulk, bisect what is left.
        wrong = pc.fill_null(pc.invert(pc.match_substring_regex(s, FORMATS[ftype])), FALSE)
        if pc.any(wrong).as_py():
            self._reject_where(wrong, reason, bad)
            s = pc.if_else(wrong, pa.scalar(None, s.type), s)
        return _bisect(s, conv, self.target, bad, reason)

    @staticmethod
    def _reject_where(mask: pa.Array, reason: str, bad: dict[int, str]) -> None:
        for i in np.flatnonzero(pc.fill_null(mask, FALSE).to_numpy(zero_copy_only=False)):
            bad.setdefault(int(i), reason)

    def _check_range(self, out: pa.Array, bad: dict[int, str]) -> None:
        """Dates outside years 0001-9999 (Arrow parses year 0 and 10000+; Postgres and Python
        cannot hold them) reject the row. Compared as day numbers: such a date has no Python
        value to compare."""
        if self.field.type not in ("date", "datetime", "timestamp"):
            return
        days = pc.cast(out, pa.date32()) if self.field.type != "date" else out
        numbers = pc.cast(days, pa.int32())
        wrong = pc.or_(pc.less(numbers, MIN_DAY), pc.greater(numbers, MAX_DAY))
        if pc.any(wrong).as_py():
            self._reject_where(wrong, OUT_OF_RANGE, bad)


def _bisect(
    arr: pa.Array, conv: Converter, target: pa.DataType, bad: dict[int, str], reason: str
) -> pa.Array:
    """conv(arr), with values conv cannot convert found by bisection and made null."""
    try:
        return conv(arr)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    pieces: list[pa.Array] = []

    def walk(offset: int, length: int) -> None:
        part = arr.slice(offset, length)
        try:
            pieces.append(conv(part))
            return
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        if length == 1:
            bad.setdefault(offset, reason)
            pieces.append(pa.nulls(1, target))
            return
        half = length // 2
        walk(offset, half)
        walk(offset + half, length - half)

    walk(0, len(arr))
    return pa.concat_arrays([p.cast(target) if p.type != target else p for p in pieces])


def int64_array(values: np.ndarray) -> pa.Array:
    """An int64 array over a numpy array, zero-copy. Not pa.array(): that imports pandas (about
    50 MB of RSS) into the loading process on first use, when pandas is installed."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def shown_value(arr: pa.Array | None, i: int) -> str | None:
    """The incoming value of row i as text for a reject message, or None when missing."""
    if arr is None:
        return None
    value = arr[i].as_py()
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = (value_text(value) or "").replace("\x00", "\\x00")  # Postgres text holds no NUL
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
