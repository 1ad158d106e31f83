"""Delimited text (CSV, TSV, PSV, any delimiter) via pyarrow's streaming CSV reader.

Every column is read as a string (the feed editor decides types); empty fields are null.
Before pyarrow sees a byte, :class:`CsvCheckedStream` checks quoting and encoding, and line 1
is checked for the declared delimiter, so a misread file is refused instead of loaded wrongly.
Header names are kept as written except that a blank name becomes ``column_N`` and a repeated
one gets ``_2``, ``_3``...; each such change is a note the preview shows (``NOTES_METADATA``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv

from .base import Reader
from .csv_scan import CsvCheckedStream
from .errors import ReaderError
from .settings import MAX_COLUMN_NAME_CHARS, FileSettings, limit
from .streams import PrefixedStream, read_exactly

HEADER_PEEK = 1024 * 1024
CANDIDATES = (",", ";", "\t", "|")
NOTES_METADATA = b"sources.notes"  # schema metadata: JSON list of what the reader changed
_LINE_END = re.compile(r"\r\n|\n|\r")


def describe_delimiter(d: str) -> str:
    return {"\t": "tab", " ": "space"}.get(d, f'"{d}"')


def open_csv(
    stream: BinaryIO,
    name: str,
    settings: FileSettings,
    *,
    batch_rows: int,
    block_size: int = 4 * 1024 * 1024,
) -> Reader:
    """Open a (decompressed) delimited text stream."""
    head, eof = _peek_head(stream, settings)
    first_rows = _first_rows(head, eof, settings, name)
    if not first_rows:
        return Reader(pa.schema([]), iter(()), batch_rows=batch_rows)
    header_line = _first_line(head, settings.encoding)
    _check_delimiter(header_line, first_rows[0], settings, name)
    notes: list[str] = []
    if settings.header_rows:
        names = clean_column_names(first_rows[0], notes)
        _check_name_lengths(names, name)
    else:
        names = [f"column_{i}" for i in range(1, len(first_rows[0]) + 1)]
    stream = CsvCheckedStream(  # type: ignore[assignment]
        PrefixedStream(head, stream),  # type: ignore[arg-type]
        name,
        settings,
        names=names,
        max_quoted_bytes=limit("SOURCES_MAX_QUOTED_VALUE_BYTES"),
    )
    schema = pa.schema(
        [(n, pa.string()) for n in names],
        metadata={NOTES_METADATA: json.dumps(notes)} if notes else None,
    )
    bad_rows: list[pacsv.InvalidRow] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row)
        return "error"

    try:
        arrow_reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(
                use_threads=False,  # serial streaming is as fast here and keeps row numbers
                block_size=block_size,
                column_names=[f"f{i}" for i in range(len(names))],
                skip_rows=settings.header_rows,
                encoding=_arrow_encoding(settings.encoding),
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=settings.delimiter,
                quote_char=settings.quote or False,
                escape_char=settings.escape or False,
                double_quote=True,
                newlines_in_values=True,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(len(names))},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as e:
        raise _translate(e, bad_rows, name, settings, header_line) from e

    def batches() -> Iterator[pa.RecordBatch]:
        while True:
            try:
                batch = arrow_reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as e:
                raise _translate(e, bad_rows, name, settings, header_line) from e
            yield pa.RecordBatch.from_arrays(batch.columns, schema=schema)

    return Reader(schema, batches(), batch_rows=batch_rows, close=arrow_reader.close)


def clean_column_names(raw: list[str], notes: list[str] | None = None) -> list[str]:
    """Header names as written, except blanks become column_N and repeats get _2, _3, ...;
    each change is described in ``notes``."""
    names: list[str] = []
    seen: set[str] = set()
    for i, value in enumerate(raw, start=1):
        written = value.strip().lstrip("\ufeff")
        base = written or f"column_{i}"
        candidate, k = base, 2
        while candidate in seen:
            candidate, k = f"{base}_{k}", k + 1
        seen.add(candidate)
        names.append(candidate)
        if notes is None:
            continue
        if not written:
            notes.append(f"Column {i} has no name in the header: it is read as {candidate}.")
        elif candidate != written:
            notes.append(f'Column {i} repeats the name "{written}": it is read as {candidate}.')
    return names


def _check_name_lengths(names: list[str], name: str) -> None:
    for i, column in enumerate(names, start=1):
        if len(column) > MAX_COLUMN_NAME_CHARS:
            raise ReaderError.at(
                name,
                "line 1",
                f"the name of column {i} is {len(column)} characters long "
                f'(it starts "{column[:40]}…"); a column name can have at most '
                f"{MAX_COLUMN_NAME_CHARS} characters — is line 1 really a header? "
                "If not, set header rows to 0",
            )


def _outside_quotes(line: str, quote: str) -> str:
    """``line`` without its quoted parts (a quote opens only at the start of a field)."""
    if not quote:
        return line
    return re.sub(rf"{re.escape(quote)}[^{re.escape(quote)}]*({re.escape(quote)}|$)", "", line)


def _check_delimiter(line: str, first_row: list[str], settings: FileSettings, name: str) -> None:
    """Refuse when line 1 has no declared delimiter but another usual one (, ; | tab)."""
    if len(first_row) != 1:
        return
    bare = _outside_quotes(line, settings.quote)
    for candidate in CANDIDATES:
        if candidate != settings.delimiter and candidate in bare:
            raise ReaderError.at(
                name,
                "line 1",
                f"the declared delimiter {describe_delimiter(settings.delimiter)} does not "
                f"occur, but {describe_delimiter(candidate)} does: change the delimiter setting",
            )


def _arrow_encoding(encoding: str) -> str:
    # Arrow reads UTF-8 natively and skips a UTF-8 BOM itself; others go through Python codecs.
    return "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding


def _peek_head(stream: BinaryIO, settings: FileSettings) -> tuple[bytes, bool]:
    """Read enough of the start for the header rows; returns (head, reached end of stream)."""
    need = max(settings.header_rows, 1) + 1
    head = b""
    while True:
        more = read_exactly(stream, 64 * 1024)
        head += more
        if len(more) < 64 * 1024:
            return head, True
        if max(head.count(b"\n"), head.count(b"\r")) >= need or len(head) >= HEADER_PEEK:
            return head, False


def _decode(head: bytes, encoding: str, final: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=final)
    return text.lstrip("\ufeff")


def _first_line(head: bytes, encoding: str) -> str:
    """Line 1, whatever ends it (LF, CRLF or a classic Mac CR)."""
    text = _decode(head, encoding, final=False)
    return _LINE_END.split(text, maxsplit=1)[0]


def _first_rows(head: bytes, eof: bool, settings: FileSettings, name: str) -> list[list[str]]:
    """The header rows (or the first data row when there is no header) parsed in Python."""
    text = _decode(head, settings.encoding, final=eof)
    last_end = max(text.rfind("\n"), text.rfind("\r"))
    if not eof and last_end >= 0:
        text = text[: last_end + 1]
    reader = csv.reader(
        io.StringIO(text, newline=""),  # CR, LF and CRLF all end a line, as pyarrow reads them
        delimiter=settings.delimiter,
        quotechar=settings.quote or None,
        quoting=csv.QUOTE_MINIMAL if settings.quote else csv.QUOTE_NONE,
        escapechar=settings.escape,
        doublequote=True,
    )
    wanted = max(settings.header_rows, 1)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not row:
                continue
            rows.append(row)
            if len(rows) == wanted:
                break
    except csv.Error as e:
        raise ReaderError.at(name, "line 1", f"cannot parse the header ({e})") from e
    if settings.header_rows and len(rows) < settings.header_rows and rows and not eof:
        raise ReaderError.at(
            name, "line 1", "the header row is longer than 1 MB — is the quote character right?"
        )
    return rows[:1] if settings.header_rows else rows


def _translate(
    e: pa.ArrowInvalid,
    bad_rows: list[pacsv.InvalidRow],
    name: str,
    settings: FileSettings,
    header_line: str,
) -> ReaderError:
    message = str(e)
    if bad_rows:
        row = bad_rows[0]
        position = f"line {row.number}" if row.number and row.number > 0 else ""
        hint = _ragged_hint(
            settings.delimiter, header_line, row.actual_columns, row.expected_columns
        )
        cause = f"expected {row.expected_columns} fields, found {row.actual_columns} ({hint})"
        return ReaderError.at(name, position, cause)
    if "UTF8" in message or "UTF-8" in message or "decode" in message.lower():
        return ReaderError.at(
            name,
            "",
            f"the text is not valid {settings.encoding} — try encoding latin-1 ({message})",
        )
    return ReaderError.at(name, "", f"cannot parse delimited text: {message}")


def _ragged_hint(delimiter: str, header_line: str, actual: int, expected: int) -> str:
    for candidate in CANDIDATES:
        if candidate != delimiter and header_line.count(candidate) >= max(expected, 1):
            return f"is the delimiter {describe_delimiter(candidate)}?"
    if actual > expected:
        return (
            f"does a value contain {describe_delimiter(delimiter)} without quotes, "
            "or is the quote character wrong?"
        )
    return "is the row cut short, or a quoted value not closed?"
