"""What a load writes: the table spec (fields, key, last-updated rule) and its Postgres types."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

FIELD_TYPES = (
    "boolean",
    "bytes",
    "date",
    "datetime",
    "decimal",
    "float",
    "integer",
    "json",
    "string",
    "time",
    "timestamp",
)
# Types a primary key cannot use: "_pk" is text, and bytes or JSON make poor, ambiguous keys.
NOT_KEY_TYPES = frozenset({"bytes", "json"})
LAST_UPDATED_TYPES = ("datetime", "timestamp", "integer")
# Arrow field metadata marking a text column bound for a jsonb or numeric column (encode.py).
PG_TYPE_KEY = b"pg_type"

# Columns every domain table carries besides the feed's fields.
PK_COLUMN = "_pk"
UPDATED_COLUMN = "_updated"
LOADED_AT_COLUMN = "_loaded_at"
# With the generated updated field: the date of the file a row came from (an undated file:
# the day it was loaded). Rows from an older file never overwrite rows from a newer one.
FILE_DATE_COLUMN = "_file_date"
RESERVED_COLUMNS = frozenset({PK_COLUMN, UPDATED_COLUMN, LOADED_AT_COLUMN, FILE_DATE_COLUMN})

# A compound key is stored in "_pk" as its parts (Postgres text form) joined by U+001F (unit
# separator). In string parts, "\" is written "\\" and U+001F is written "\x1f", so two different
# keys can never produce the same "_pk". A single-field key is stored as its plain text form.
PK_SEPARATOR = "\x1f"

MAX_IDENTIFIER_BYTES = 63  # Postgres silently truncates longer names: refuse them instead
MAX_DECIMAL_PRECISION = 76  # what Arrow's decimal256 can hold


class SpecError(ValueError):
    """The table spec cannot be loaded as given (bad type, unknown key field, ...)."""


@dataclass
class FieldSpec:
    name: str  # resulting column name
    incoming: str  # column name in the file
    type: str  # one of FIELD_TYPES
    required: bool = False
    precision: int | None = None  # decimal only; None = unconstrained numeric
    scale: int | None = None  # decimal only; None = 0 when precision is set

    def pg_type(self) -> str:
        """The column type, as Postgres' format_type() spells it."""
        if self.type == "decimal":
            if self.precision is None:
                return "numeric"
            return f"numeric({self.precision},{self.scale or 0})"
        return PG_TYPES[self.type]

    def arrow_type(self) -> pa.DataType:
        """The Arrow type values are converted to before they are sent to Postgres."""
        if self.type == "decimal":
            if self.precision is None:
                return pa.string()  # validated text; Postgres parses it into numeric
            if self.precision <= 38:
                return pa.decimal128(self.precision, self.scale or 0)
            return pa.decimal256(self.precision, self.scale or 0)
        return ARROW_TYPES[self.type]

    def arrow_field(self, name: str) -> pa.Field:
        """The COPY column of this field: its Arrow type, marked when it is text bound for
        another Postgres type (jsonb; numeric without precision), which encode.py must know."""
        metadata = None
        if self.type == "json":
            metadata = {PG_TYPE_KEY: b"jsonb"}
        elif self.type == "decimal" and self.precision is None:
            metadata = {PG_TYPE_KEY: b"numeric"}
        return pa.field(name, self.arrow_type(), metadata=metadata)


PG_TYPES = {
    "boolean": "boolean",
    "bytes": "bytea",
    "date": "date",
    "datetime": "timestamp with time zone",
    "float": "double precision",
    "integer": "bigint",
    "json": "jsonb",
    "string": "text",
    "time": "time without time zone",
    "timestamp": "timestamp without time zone",
}

ARROW_TYPES = {
    "boolean": pa.bool_(),
    "bytes": pa.binary(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "float": pa.float64(),
    "integer": pa.int64(),
    "json": pa.string(),  # JSON text; Postgres stores it as jsonb
    "string": pa.string(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
}


@dataclass
class TableSpec:
    schema: str
    table: str  # e.g. "Heap:Users"
    fields: list[FieldSpec]
    primary_key: list[str]  # resulting field names, one or more
    last_updated: str | None = None  # a datetime or integer field; None = generated "_updated"
    error_threshold: float = 1.0  # percent of rows that may be rejected, 0-100

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise SpecError(f"{self.table}: no field named {name!r}")

    @property
    def key_fields(self) -> list[FieldSpec]:
        return [self.field(name) for name in self.primary_key]

    @property
    def last_updated_field(self) -> FieldSpec | None:
        return self.field(self.last_updated) if self.last_updated else None

    def validate(self) -> None:
        """Raise SpecError with a readable message if this spec cannot be loaded."""
        for name, what in ((self.schema, "schema"), (self.table, "table")):
            _check_identifier(name, what)
        if not self.fields:
            raise SpecError(f"{self.table}: a feed needs at least one field")
        seen: set[str] = set()
        for f in self.fields:
            _check_identifier(f.name, "field")
            if f.name in RESERVED_COLUMNS:
                raise SpecError(f"{self.table}: field name {f.name!r} is reserved; rename it")
            if f.name in seen:
                raise SpecError(f"{self.table}: two fields are named {f.name!r}")
            seen.add(f.name)
            if f.type not in FIELD_TYPES:
                raise SpecError(f"{self.table}: field {f.name!r} has unknown type {f.type!r}")
            if f.type == "decimal":
                if f.precision is None and f.scale is not None:
                    raise SpecError(f"{self.table}: field {f.name!r}: a scale needs a precision")
                if f.precision is not None and not 1 <= f.precision <= MAX_DECIMAL_PRECISION:
                    raise SpecError(
                        f"{self.table}: field {f.name!r}: precision must be 1-{MAX_DECIMAL_PRECISION}"
                    )
                if f.scale is not None and not 0 <= f.scale <= (f.precision or 0):
                    raise SpecError(
                        f"{self.table}: field {f.name!r}: scale must be 0-{f.precision}"
                    )
            elif f.precision is not None or f.scale is not None:
                raise SpecError(f"{self.table}: field {f.name!r}: only decimals take a precision")
        if not self.primary_key:
            raise SpecError(f"{self.table}: a primary key of one or more fields is required")
        if len(set(self.primary_key)) != len(self.primary_key):
            raise SpecError(f"{self.table}: a field appears twice in the primary key")
        for name in self.primary_key:
            if self.field(name).type in NOT_KEY_TYPES:
                raise SpecError(
                    f"{self.table}: field {name!r} is {self.field(name).type}, which cannot be "
                    "part of the primary key; choose another key field"
                )
        if self.last_updated is not None:
            lu = self.field(self.last_updated)
            if lu.type not in LAST_UPDATED_TYPES:
                raise SpecError(
                    f"{self.table}: the last updated field {lu.name!r} must be a datetime, a "
                    "timestamp or an integer"
                )
        if not 0 <= self.error_threshold <= 100:
            raise SpecError(f"{self.table}: the error threshold must be 0-100 %")


def _check_identifier(name: str, what: str) -> None:
    if not name:
        raise SpecError(f"the {what} name is empty")
    if "\x00" in name:
        raise SpecError(f"the {what} name {name!r} contains a NUL character")
    if len(name.encode()) > MAX_IDENTIFIER_BYTES:
        raise SpecError(
            f"the {what} name {name!r} is longer than Postgres allows ({MAX_IDENTIFIER_BYTES} bytes)"
        )


Batches = Iterable[pa.RecordBatch]


@dataclass
class SourceFile:
    """One file to load. Files are given in load order (file date, then key)."""

    name: str
    batches: Callable[[], Batches] | Batches
    file_date: date | None = None

    def iter_batches(self) -> Batches:
        return self.batches() if callable(self.batches) else self.batches


@dataclass
class Reject:
    file: str
    row: int  # 1-based data row number in that file (header rows not counted)
    field: str  # resulting field name
    value: str | None  # the incoming value (shortened), None when missing
    reason: str  # e.g. "is not a date", "required value is missing"

    def __str__(self) -> str:
        where = f"{self.file} row {self.row}, field {self.field}"
        if self.value is None:
            return f"{where}: {self.reason}"
        return f'{where}: "{self.value}" {self.reason}'


MAX_KEPT_REJECTS = 10_000


@dataclass
class LoadResult:
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    rejected: int = 0  # rows rejected (a row with two bad values counts once)
    rejects: list[Reject] = field(default_factory=list)  # one per bad value, first 10,000 kept
    duplicates: int = 0  # good rows superseded by a later/newer row with the same key
    skipped: int = 0  # rows not applied: the table already had a newer version (last_updated)
    files: int = 0
    table_changes: list[str] = field(default_factory=list)  # what ensure_table did
    # {file name: fields whose column the file lacks}: kept their stored values (upsert) or
    # left empty (truncate-and-load)
    absent_columns: dict[str, list[str]] = field(default_factory=dict)
    kept: bool = False  # load(keep_when_empty=True) read no rows: the table was not truncated

    @property
    def rejected_percent(self) -> float:
        return self.rejected * 100 / self.rows_read if self.rows_read else 0.0


class LoadRejected(Exception):
    """Too many rows were rejected; the load was rolled back. Carries .result."""

    def __init__(self, message: str, result: LoadResult):
        super().__init__(message)
        self.result = result


class FileRefused(LoadRejected):
    """A file cannot be loaded at all (it lacks a required column); nothing was written."""


class LoadStopped(Exception):
    """should_stop() asked the load to stop; the load was rolled back. Carries .result."""

    def __init__(self, message: str, result: LoadResult):
        super().__init__(message)
        self.result = result
