"""CSV that is safe to open in a spreadsheet (the OWASP rule against CSV injection).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be run as a
formula by Excel, LibreOffice or Google Sheets. Such a cell gets a leading single quote,
which spreadsheets show as text. A plain number (``-5``, ``+3.25e2``) is left alone: it is no
formula, and a quote would turn a negative amount into text.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Iterator

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


# Postgres types whose text cannot be a formula (numbers, dates and times, booleans, uuids);
# every other column (text, json, arrays, intervals, ...) counts as text.
_TYPED = re.compile(
    r"(smallint|integer|bigint|numeric|real|double precision|boolean|date|uuid"
    r"|timestamp|time)\b"
)


def is_text_type(pg_type: str) -> bool:
    """Whether a column of this Postgres type (``format_type`` text) holds free text."""
    return not _TYPED.match(pg_type) or pg_type.endswith("[]")


def neutralise(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet could take it for a formula."""
    if value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class SafeWriter:
    """csv.writer's ``writerow`` for a streaming response: each row back as a string, every
    text cell neutralised. Cells that are not text (numbers, dates, None) are written as is."""

    def __init__(self) -> None:
        self._writer = csv.writer(_Echo())

    def writerow(self, row: Iterable[object]) -> str:
        return self._writer.writerow([neutralise(c) if isinstance(c, str) else c for c in row])


class _Echo:
    def write(self, value: str) -> str:
        return value


def _pg_field(value: str | None) -> str:
    """One field as Postgres's COPY ... (FORMAT csv) writes it: NULL unquoted and empty, an
    empty text as "", quotes where a delimiter, quote or line break needs them."""
    if value is None:
        return ""
    if value == "" or value == "\\." or _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


def _lines(chunks: Iterable[bytes], encoding: str) -> Iterator[str]:
    """Text lines (ending "\\n" kept) from byte chunks cut anywhere, even inside a character."""
    decoder = codecs.getincrementaldecoder(encoding)()
    rest = ""
    for chunk in chunks:
        rest += decoder.decode(chunk)
        *lines, rest = rest.split("\n")
        for line in lines:
            yield line + "\n"
    rest += decoder.decode(b"", final=True)
    if rest:
        yield rest


def safe_copy_csv(
    chunks: Iterable[bytes], text_columns: set[int], *, encoding: str = "utf-8"
) -> Iterator[bytes]:
    """Rewrite a ``COPY ... TO STDOUT (FORMAT csv, HEADER)`` stream with the text columns'
    cells neutralised; numbers, dates and other typed columns pass unchanged. NULL stays an
    unquoted empty field and an empty text stays "", as Postgres wrote them."""
    parser = _CopyCsvParser()
    header = True
    for line in _lines(chunks, encoding):
        for record in parser.feed(line):
            if header:  # column names are text too
                header = False
                record = [neutralise(v or "") for v in record]
            else:
                record = [
                    neutralise(v) if i in text_columns and v is not None else v
                    for i, v in enumerate(record)
                ]
            yield (",".join(_pg_field(v) for v in record) + "\n").encode(encoding)
    parser.finish()


class _CopyCsvParser:
    """Postgres COPY CSV records from its lines, telling NULL (unquoted empty) from ""."""

    def __init__(self) -> None:
        self._record: list[str | None] = []
        self._field: list[str] = []
        self._quoted = False  # the current field had a quoted section
        self._in_quotes = False  # inside a quoted section now

    def feed(self, line: str) -> Iterator[list[str | None]]:
        fresh = not (self._record or self._field or self._in_quotes)
        if fresh and '"' not in line and line.endswith("\n"):
            yield [v or None for v in line[:-1].split(",")]  # the common case, fast
            return
        i, n = 0, len(line)
        while i < n:
            c = line[i]
            if self._in_quotes:
                if c == '"':
                    if i + 1 < n and line[i + 1] == '"':
                        self._field.append('"')
                        i += 2
                        continue
                    self._in_quotes = False
                else:
                    self._field.append(c)
            elif c == '"':
                self._in_quotes = self._quoted = True
            elif c == ",":
                self._end_field()
            elif c == "\n":
                self._end_field()
                yield self._record
                self._record = []
            else:
                self._field.append(c)
            i += 1

    def _end_field(self) -> None:
        text = "".join(self._field)
        self._record.append(text if (text or self._quoted) else None)
        self._field, self._quoted = [], False

    def finish(self) -> None:
        if self._in_quotes or self._field or self._record:
            raise ValueError("the CSV export ended inside a record")
