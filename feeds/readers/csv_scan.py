"""CsvCheckedStream: the bytes pyarrow parses, checked on the way through.

pyarrow's CSV parser silently accepts two things that change data: a quote that never closes
(it swallows every following line into one value) and, with it, a quoted value running for
megabytes. It also reports text that is not valid UTF-8 without a line. This stream follows the
same quoting rules (a quote only opens at the start of a field; ``""`` inside quotes is a quote;
the escape character makes the next byte literal; CR, LF and CRLF end a line) and refuses:

* a quoted value still open at the end of the file, naming the line where it opened;
* a quoted value spanning lines that runs past ``SOURCES_MAX_QUOTED_VALUE_BYTES``;
* bytes that are not valid UTF-8 (for the UTF-8 encodings), naming the line and field.

Most text is checked in bulk with numpy: when every quote sits where quoting allows (opening at
a field start, closing before a delimiter or line end, or doubled) and no line break falls
inside quotes, the lines are fine as a whole. Otherwise complete single-line records are matched
many at a time by one regular expression, and records with a line break inside quotes are
walked field by field.
"""

from __future__ import annotations

import codecs
import re
from typing import BinaryIO

import numpy as np

from .errors import ReaderError
from .settings import FileSettings
from .streams import ReadOnlyStream

BOM = b"\xef\xbb\xbf"
_NEWLINE = re.compile(rb"\r\n|\n|\r")


def _line_breaks(data: bytes | bytearray, start: int, end: int) -> int:
    """Line ends (LF, CR or CRLF) in data[start:end]."""
    return (
        data.count(b"\n", start, end)
        + data.count(b"\r", start, end)
        - data.count(b"\r\n", start, end)
    )


class _Grammar:
    """The regular expressions for one delimiter / quote / escape combination."""

    def __init__(self, delimiter: bytes, quote: bytes, escape: bytes | None) -> None:
        d, q = re.escape(delimiter), re.escape(quote)
        e = re.escape(escape) if escape else None
        if e:
            unq = rb"(?:[^" + d + rb"\r\n" + e + rb"]|" + e + rb"(?s:.))"
            first = rb"(?:[^" + q + d + rb"\r\n" + e + rb"]|" + e + rb"(?s:.))"
            body_line = rb"(?:[^" + q + e + rb"\r\n]|" + q + q + rb"|" + e + rb"[^\r\n])"
            body = rb"(?:[^" + q + e + rb"]|" + q + q + rb"|" + e + rb"(?s:.))"
        else:
            unq = rb"[^" + d + rb"\r\n]"
            first = rb"[^" + q + d + rb"\r\n]"
            body_line = rb"(?:[^" + q + rb"\r\n]|" + q + q + rb")"
            body = rb"(?:[^" + q + rb"]|" + q + q + rb")"
        field = rb"(?:" + q + body_line + rb"*+" + q + unq + rb"*+|" + first + unq + rb"*+)?+"
        record = field + rb"(?:" + d + field + rb")*+(?:\r\n|\n|\r)"
        self.records = re.compile(rb"(?:" + record + rb")*+")
        self.quoted = re.compile(q + body + rb"*+" + q)
        self.rest = re.compile(unq + rb"*+")
        self.unquoted = re.compile(rb"(?:" + first + unq + rb"*+)?+")
        self.delimiter = delimiter[0]
        self.quote = quote[0]
        self.escape = escape[0] if escape else None
        self.field_ends = np.array([self.delimiter, 0x0A, 0x0D], dtype=np.uint8)

    def regular(self, data: bytes | bytearray | memoryview) -> int | None:
        """The number of line breaks in ``data`` (whole lines, starting outside quotes) if it is
        plainly well quoted: every quote opens at a field start, closes before a field end, or
        is doubled, and no line break is inside quotes; then pyarrow reads it exactly as the
        lines say. None if not (or if it cannot tell)."""
        if self.escape is not None:
            return None
        arr = np.frombuffer(data, dtype=np.uint8)
        if np.count_nonzero(arr == 0x0D):
            breaks = np.flatnonzero((arr == 0x0A) | (arr == 0x0D))
            lines = len(breaks) - _crlf_pairs(arr, breaks)
        else:
            breaks = np.flatnonzero(arr == 0x0A)
            lines = len(breaks)
        quotes = np.flatnonzero(arr == self.quote)
        if len(quotes) == 0:
            return lines
        if len(quotes) % 2:
            return None
        if np.any(np.searchsorted(quotes, breaks) % 2):
            return None  # a line break inside quotes
        opening, closing = quotes[0::2], quotes[1::2]
        before = arr[np.maximum(opening - 1, 0)]
        opens_ok = (opening == 0) | np.isin(before, self.field_ends) | (before == self.quote)
        after = arr[np.minimum(closing + 1, len(arr) - 1)]
        closes_ok = np.isin(after, self.field_ends) | (after == self.quote)
        return lines if opens_ok.all() and closes_ok.all() else None


def _crlf_pairs(arr: np.ndarray, breaks: np.ndarray) -> int:
    """CR LF pairs among the line-break positions ``breaks`` (each pair is one line end)."""
    cr = breaks[:-1][arr[breaks[:-1]] == 0x0D]
    return int(np.count_nonzero(arr[cr + 1] == 0x0A))


class CsvCheckedStream(ReadOnlyStream):
    """Reads ``raw`` for pyarrow; raises ReaderError at the first problem (see module doc)."""

    def __init__(
        self,
        raw: BinaryIO,
        name: str,
        settings: FileSettings,
        *,
        names: list[str],
        max_quoted_bytes: int,
    ) -> None:
        self._raw = raw
        self._name = name
        self._names = names
        self._header_rows = settings.header_rows
        self._max_quoted = max_quoted_bytes
        self._utf8 = codecs.lookup(settings.encoding).name in ("utf-8", "utf-8-sig")
        self._encoding = settings.encoding
        self._grammar = _grammar(settings)
        self._delimiter = settings.delimiter.encode(settings.encoding, errors="replace")[:1]
        self._buf = bytearray()
        self._pos = 0  # start of the next record in _buf
        self._valid = 0  # _buf[:_valid] is known to be valid text
        self._line = 1  # line number at _pos
        self._started = False
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size if size is not None and size > 0 else 1024 * 1024)
        if not self._eof:
            self._check(bytes(data), eof=not data)
        return data

    # -- checking ---------------------------------------------------------------------------

    def _check(self, data: bytes, *, eof: bool) -> None:
        self._buf += data
        self._eof = eof
        if not self._started and (len(self._buf) >= 3 or eof):
            self._started = True
            if self._buf.startswith(BOM):
                self._pos = self._valid = 3
        if not self._started:
            return
        bad_at = self._validate() if self._utf8 else None
        end = len(self._buf) if bad_at is None else bad_at
        self._scan(end, final=eof and bad_at is None)
        if bad_at is not None:
            raise self._encoding_error(bad_at)
        del self._buf[: self._pos]
        self._valid -= self._pos
        self._pos = 0

    def _validate(self) -> int | None:
        """Advance _valid over the valid UTF-8 text; the index of a bad byte, if any."""
        if self._buf.isascii():
            self._valid = len(self._buf)
            return None
        try:
            _, used = codecs.utf_8_decode(memoryview(self._buf)[self._valid :], "strict", self._eof)
        except UnicodeDecodeError as e:
            return self._valid + e.start
        self._valid += used
        return None

    def _scan(self, end: int, *, final: bool) -> None:
        """Consume the complete records in _buf[_pos:end]."""
        g = self._grammar
        if g is None:  # no quoting: only line numbers matter; stop at the last line break
            self._advance(max(self._pos, self._last_line_end(end, final)))
            return
        lines_end = self._last_line_end(end, final)
        if lines_end > self._pos:
            lines = g.regular(memoryview(self._buf)[self._pos : lines_end])
            if lines is not None:
                self._line += lines
                self._pos = lines_end
        while True:
            # Hold back one byte unless at the end: a CR may be half of a CRLF, a quote half of "".
            limit = end if final else end - 1
            if limit <= self._pos:
                return
            m = g.records.match(self._buf, self._pos, limit)
            self._advance(_end(m))
            if self._pos >= limit:
                if final and self._pos < end:
                    continue
                return
            after = self._record(self._pos, end, final=final)
            if after is None:
                return
            self._advance(after)

    def _last_line_end(self, end: int, final: bool) -> int:
        """Just past the last line break in _buf[_pos:end] (a CRLF kept whole); -1 if none."""
        buf, stop = self._buf, end if final else end - 1
        last = max(buf.rfind(b"\n", self._pos, stop), buf.rfind(b"\r", self._pos, stop))
        if last < self._pos:
            return -1
        crlf = buf[last] == 0x0D and last + 1 < end and buf[last + 1] == 0x0A
        return last + (2 if crlf else 1)

    def _advance(self, to: int) -> None:
        self._line += _line_breaks(self._buf, self._pos, to)
        self._pos = to

    def _record(self, start: int, end: int, *, final: bool) -> int | None:
        """End of the record at ``start`` (walked field by field), None if it needs more data."""
        g = self._grammar
        assert g is not None
        buf, pos = self._buf, start
        while True:
            if pos >= end:
                return end if final else None
            if buf[pos] == g.quote:
                m = g.quoted.match(buf, pos, end)
                close = m.end() if m else end
                if close - pos > self._max_quoted and _line_breaks(buf, pos, close):
                    raise self._too_long(pos)
                if m is None or (m.end() == end and not final):
                    if m is None and final:
                        raise self._quote_error(pos, "is never closed (the file ends inside it)")
                    return None
                pos = _end(g.rest.match(buf, m.end(), end))
            else:
                pos = _end(g.unquoted.match(buf, pos, end))
            if pos >= end:
                return end if final else None
            if buf[pos] == g.delimiter:
                pos += 1
                continue
            if pos + 1 >= end and not final:
                return None  # a CR may be half of a CRLF, an escape needs its byte
            newline = _NEWLINE.match(buf, pos, end)
            if newline:
                return newline.end()
            pos += 1  # cannot happen with the grammar above; never loop on the same byte

    # -- messages ---------------------------------------------------------------------------

    def _line_at(self, at: int) -> int:
        return self._line + _line_breaks(self._buf, self._pos, at)

    def _quote_error(self, at: int, what: str) -> ReaderError:
        return ReaderError.at(
            self._name,
            f"line {self._line_at(at)}",
            f"a quoted value opens here and {what} — is a closing quote missing, "
            "or is the quote character wrong?",
        )

    def _too_long(self, at: int) -> ReaderError:
        return self._quote_error(
            at,
            f"runs past {self._max_quoted} bytes over several lines "
            "(the limit is SOURCES_MAX_QUOTED_VALUE_BYTES)",
        )

    def _field_at(self, at: int) -> int:
        """The 0-based field that byte ``at`` is in (its record starts at _pos)."""
        g, buf = self._grammar, self._buf
        if g is None:
            start = max(buf.rfind(b"\n", self._pos, at), buf.rfind(b"\r", self._pos, at)) + 1
            return buf.count(self._delimiter, max(start, self._pos), at)
        pos, index = self._pos, 0
        while True:
            if buf[pos] == g.quote and (m := g.quoted.match(buf, pos)) is not None:
                pos = _end(g.rest.match(buf, m.end()))
            elif buf[pos] == g.quote:
                return index  # an open quote runs to the end of the buffer
            else:
                pos = _end(g.unquoted.match(buf, pos))
            if at < pos or pos >= len(buf) or buf[pos] != g.delimiter:
                return index
            pos, index = pos + 1, index + 1

    def _encoding_error(self, at: int) -> ReaderError:
        line = self._line_at(at)
        field = self._field_at(at)
        if line > self._header_rows and field < len(self._names):
            where = f'line {line}, field "{self._names[field]}"'
        else:
            where = f"line {line}, field {field + 1}"
        return ReaderError.at(
            self._name,
            where,
            f"byte 0x{self._buf[at]:02x} is not valid {self._encoding} text — "
            "is the file latin-1? Change the encoding setting",
        )


def _grammar(settings: FileSettings) -> _Grammar | None:
    """The grammar for the settings, or None when values cannot be quoted."""
    if not settings.quote:
        return None
    try:
        parts = [
            c.encode(settings.encoding) if c else None
            for c in (settings.delimiter, settings.quote, settings.escape)
        ]
    except UnicodeEncodeError:
        return None
    delimiter, quote, escape = parts
    if any(p is not None and len(p) != 1 for p in parts):
        return None  # multi-byte separators: pyarrow's own checks only
    assert delimiter is not None and quote is not None
    return _Grammar(delimiter, quote, escape)


def _end(m: re.Match[bytes] | None) -> int:
    """Where a match of a pattern that also matches the empty string ends (it always matches)."""
    if m is None:
        raise AssertionError("a pattern that matches the empty string did not match")
    return m.end()
