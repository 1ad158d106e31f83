"""Amperity file patterns (``object/file-pattern`` in a courier's entities list).

Syntax
------
* Text in single quotes is literal: ``'files/'``.  Two single quotes (``''``), inside or
  outside a quoted section, stand for one literal single quote.
* Date tokens outside quotes: ``yyyy`` (also ``YYYY``) = 4-digit year, ``MM`` = 2-digit month,
  ``dd`` = 2-digit day.  Tokens may be written next to each other (``yyyyMMdd``).
* ``*`` anywhere (inside or outside quotes) = any characters, possibly none, up to the next
  ``/``.  So ``'files/'yyyy'/'MM'/'dd'/customers-*.csv'`` run for 2020-04-10 looks for
  ``files/2020/04/10/customers-*.csv``.
* Any other text outside quotes is literal.  A run of letters outside quotes is read as date
  tokens only when the *whole* run is made of tokens (``yyyy``, ``MMdd``, ``yyyyMMdd``);
  otherwise the run is literal, so a plain path such as ``address/users.csv`` (which contains
  ``dd``) or ``path/to/users.avro`` is valid and means exactly itself.
  ``'path/to/users'-YYYY-MM-dd'.avro'`` for 2024-01-05 is ``path/to/users-2024-01-05.avro``.

Which key is matched
--------------------
A pattern names the object's **full key inside the bucket**, exactly as Amperity's examples
do (``'path/to/users'-YYYY-MM-dd'.avro'``).  :meth:`FilePattern.match` and
:meth:`FilePattern.file_date` therefore take the full S3 key (courier prefix included) and
use the pattern as-is; the courier prefix is *not* prepended to the pattern and *not*
stripped from the key.  :meth:`FilePattern.listing_prefix` gives the ``Prefix`` to pass to
``ListObjectsV2``; the caller may narrow it further with the courier prefix when one is a
prefix of the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

__all__ = ["PatternError", "FilePattern", "days_in"]


class PatternError(ValueError):
    """A file pattern that cannot be parsed; the message says what is wrong and where."""


# Part kinds.
_LIT = "literal"
_STAR = "star"
_YEAR = "year"
_MONTH = "month"
_DAY = "day"

_TOKENS = {"yyyy": _YEAR, "YYYY": _YEAR, "MM": _MONTH, "dd": _DAY}
_TOKEN_RE = re.compile(r"(?:yyyy|YYYY|MM|dd)+")
_TOKEN_SPLIT_RE = re.compile(r"yyyy|YYYY|MM|dd")
_GROUP = {_YEAR: "year", _MONTH: "month", _DAY: "day"}
_DIGITS = {_YEAR: r"\d{4}", _MONTH: r"\d{2}", _DAY: r"\d{2}"}


def _is_letter(ch: str) -> bool:
    return ("a" <= ch <= "z") or ("A" <= ch <= "Z")


def _tokenize(text: str) -> tuple[tuple[str, str], ...]:
    """Split a pattern into (kind, value) parts; adjacent literals are merged."""
    if not isinstance(text, str):
        raise PatternError(f"file pattern must be text, got {type(text).__name__}")
    if not text.strip():
        raise PatternError("file pattern is empty")
    parts: list[tuple[str, str]] = []

    def add_literal(s: str) -> None:
        if not s:
            return
        if parts and parts[-1][0] == _LIT:
            parts[-1] = (_LIT, parts[-1][1] + s)
        else:
            parts.append((_LIT, s))

    def add_literal_with_stars(s: str) -> None:
        for i, piece in enumerate(s.split("*")):
            if i:
                parts.append((_STAR, "*"))
            add_literal(piece)

    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "'":
            if i + 1 < n and text[i + 1] == "'":  # '' outside quotes = a literal quote
                add_literal("'")
                i += 2
                continue
            start = i
            i += 1
            buf: list[str] = []
            while True:
                if i >= n:
                    raise PatternError(f"unclosed quote at character {start + 1}")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        buf.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            add_literal_with_stars("".join(buf))
        elif ch == "*":
            parts.append((_STAR, "*"))
            i += 1
        elif _is_letter(ch):
            j = i
            while j < n and _is_letter(text[j]):
                j += 1
            run = text[i:j]
            if _TOKEN_RE.fullmatch(run):
                for tok in _TOKEN_SPLIT_RE.findall(run):
                    parts.append((_TOKENS[tok], tok))
            else:
                add_literal(run)
            i = j
        else:
            add_literal(ch)
            i += 1
    return tuple(parts)


def _build_regex(parts: tuple[tuple[str, str], ...]) -> re.Pattern[str]:
    out: list[str] = []
    seen: set[str] = set()
    for kind, value in parts:
        if kind == _LIT:
            out.append(re.escape(value))
        elif kind == _STAR:
            out.append(r"[^/]*")
        else:
            name = _GROUP[kind]
            if name in seen:  # the same token twice must carry the same value
                out.append(f"(?P={name})")
            else:
                seen.add(name)
                out.append(f"(?P<{name}>{_DIGITS[kind]})")
    return re.compile("".join(out), re.DOTALL)


def _format(kind: str, day: date) -> str:
    if kind == _YEAR:
        return f"{day.year:04d}"
    if kind == _MONTH:
        return f"{day.month:02d}"
    return f"{day.day:02d}"


@dataclass(frozen=True)
class FilePattern:
    """A parsed file pattern.  ``FilePattern(text)`` and ``FilePattern.parse(text)`` both
    raise :class:`PatternError` for a pattern that cannot be parsed."""

    text: str
    _parts: tuple[tuple[str, str], ...] = field(init=False, repr=False, compare=False)
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _tokenize(self.text)
        object.__setattr__(self, "_parts", parts)
        object.__setattr__(self, "_regex", _build_regex(parts))

    @classmethod
    def parse(cls, text: str) -> FilePattern:
        return cls(text)

    # -- properties ---------------------------------------------------------------------
    @property
    def has_date(self) -> bool:
        """True when the pattern contains date tokens (yyyy/YYYY, MM, dd)."""
        return any(kind in _GROUP for kind, _ in self._parts)

    @property
    def has_wildcard(self) -> bool:
        return any(kind == _STAR for kind, _ in self._parts)

    @property
    def regex(self) -> re.Pattern[str]:
        """The compiled regular expression (full match; named groups year/month/day)."""
        return self._regex

    # -- rendering ----------------------------------------------------------------------
    def resolve(self, day: date | None = None) -> str:
        """The display form for ``day``: date tokens filled in, ``*`` kept, quotes removed.

        With ``day`` None the date tokens are shown as written (``files/yyyy/MM/dd/...``).
        """
        out: list[str] = []
        for kind, value in self._parts:
            if kind in _GROUP:
                out.append(value if day is None else _format(kind, day))
            else:
                out.append(value)
        return "".join(out)

    def listing_prefix(self, day: date | None = None) -> str:
        """The longest fixed prefix of every matching key: pass it as S3 ``Prefix``.

        Stops at the first ``*``; with ``day`` None also at the first date token.
        """
        out: list[str] = []
        for kind, value in self._parts:
            if kind == _STAR:
                break
            if kind in _GROUP:
                if day is None:
                    break
                out.append(_format(kind, day))
            else:
                out.append(value)
        return "".join(out)

    # -- matching -----------------------------------------------------------------------
    def match(self, key: str, day: date | None = None) -> re.Match[str] | None:
        """Match a full S3 key.  ``day`` None accepts any (valid) date: "all available data".

        A key whose date tokens do not form a real date (``2020/02/31``) does not match.
        """
        m = self._regex.fullmatch(key)
        if m is None:
            return None
        groups = m.groupdict()
        if not groups:
            return m
        if not _valid(groups):
            return None
        if day is not None:
            if "year" in groups and int(groups["year"]) != day.year:
                return None
            if "month" in groups and int(groups["month"]) != day.month:
                return None
            if "day" in groups and int(groups["day"]) != day.day:
                return None
        return m

    def file_date(self, key: str) -> date | None:
        """The date stamped in a matching key, or None (no match, or no date tokens).

        Without ``yyyy`` there is no date; a missing ``MM`` or ``dd`` counts as 1.
        """
        m = self._regex.fullmatch(key)
        if m is None:
            return None
        return _stamp(m.groupdict())

    def __str__(self) -> str:
        return self.text


def _valid(groups: dict[str, str]) -> bool:
    """Whether the date tokens found in a key can be a real date."""
    month = int(groups.get("month", "1"))
    day = int(groups.get("day", "1"))
    if "year" not in groups:
        # No year: Feb 29 is possible, so check against a leap year.
        groups = {"year": "2000", "month": str(month), "day": str(day)}
    return _stamp(groups) is not None


def _stamp(groups: dict[str, str]) -> date | None:
    """Date from the regex groups, or None if there is no year or it is not a real date."""
    if "year" not in groups:
        return None
    try:
        return date(int(groups["year"]), int(groups.get("month", "1")), int(groups.get("day", "1")))
    except ValueError:
        return None


def days_in(start: date, end: date) -> list[date]:
    """Every day from ``start`` (inclusive) to ``end`` (exclusive); empty if end <= start."""
    return [start + timedelta(days=i) for i in range((end - start).days)]
