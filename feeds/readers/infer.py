"""infer_settings: guess how to read a file from its name and its first bytes."""

from __future__ import annotations

import bz2
import codecs
import json
import re
import zlib
from collections import Counter

from .settings import AVRO, CSV, JSON, NDJSON, PARQUET, PSV, TSV, FileSettings, compression_of

CANDIDATES = (",", ";", "\t", "|")
_EXTENSIONS = {
    ".csv": CSV,
    ".tsv": TSV,
    ".tab": TSV,
    ".psv": PSV,
    ".json": JSON,
    ".ndjson": NDJSON,
    ".jsonl": NDJSON,
    ".avro": AVRO,
    ".parquet": PARQUET,
    ".pq": PARQUET,
}
_BY_DELIMITER = {"\t": TSV, "|": PSV}
_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[-+]\d{2}:?\d{2})?$")
_NAME = re.compile(r"^[A-Za-z_][\w .\-/#()]*$")


def base_name(name: str) -> tuple[str, str]:
    """The file name without encryption/compression suffixes, and the compression it names."""
    lower = name.lower().rsplit("/", 1)[-1]
    for suffix in (".pgp", ".gpg", ".asc"):
        lower = lower.removesuffix(suffix)
    compression = compression_of(lower)
    for suffix in (".gz", ".gzip", ".bz2", ".bzip2"):
        lower = lower.removesuffix(suffix)
    return lower, compression


def infer_settings(name: str, head: bytes) -> FileSettings:
    """Settings for a file named ``name`` whose first bytes are ``head`` (as stored)."""
    stem, compression = base_name(name)
    if head[:2] == b"\x1f\x8b":
        compression = "gzip"
    elif head[:3] == b"BZh" and head[3:4].isdigit():
        compression = "bzip2"
    if compression != "none":
        head = _decompress_prefix(head, compression)
    if head[:4] == b"Obj\x01":
        return FileSettings(AVRO, compression=compression)
    if head[:4] == b"PAR1":
        return FileSettings(PARQUET, compression=compression)
    extension = "." + stem.rsplit(".", 1)[-1] if "." in stem else ""
    by_name = _EXTENSIONS.get(extension)
    if by_name in (AVRO, PARQUET) and not head:
        return FileSettings(by_name, compression=compression)
    encoding = _encoding(head)
    text = head.decode(encoding, errors="replace").lstrip("\ufeff")
    stripped = text.lstrip()
    if by_name in (JSON, NDJSON) or (by_name is None and stripped[:1] in ("[", "{")):
        kind = _json_kind(stripped, by_name)
        if kind:
            return FileSettings(kind, compression=compression, encoding=encoding)
    lines = _complete_lines(text, whole=len(head) < 4096)
    default = {TSV: "\t", PSV: "|"}.get(by_name or CSV, ",")
    delimiter = _sniff_delimiter(lines) or default
    quote = _sniff_quote(lines, delimiter)
    escape = "\\" if quote and f"\\{quote}" in text else None
    content_type = by_name if by_name in (TSV, PSV) else _BY_DELIMITER.get(delimiter, CSV)
    if by_name == CSV:
        content_type = CSV if delimiter not in _BY_DELIMITER else content_type
    return FileSettings(
        content_type,
        compression=compression,
        delimiter=delimiter,
        quote=quote,
        escape=escape,
        header_rows=1 if _has_header(lines, delimiter, quote) else 0,
        encoding=encoding,
    )


def _decompress_prefix(head: bytes, compression: str) -> bytes:
    """What the first compressed bytes decompress to (a bzip2 block may need more: then b"")."""
    try:
        if compression == "bzip2":
            return bz2.BZ2Decompressor().decompress(head, 1024 * 1024)
        return zlib.decompressobj(wbits=31).decompress(head, 1024 * 1024)
    except (zlib.error, OSError, EOFError):
        return b""


def _encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:  # final=False: the prefix may end inside a multi-byte character
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "latin-1"


def _json_kind(text: str, by_name: str | None) -> str | None:
    if text.startswith("["):
        return JSON
    if text.startswith("{"):
        first_line = text.split("\n", 1)[0].strip()
        try:
            json.loads(first_line)
            return NDJSON
        except (ValueError, RecursionError):  # RecursionError: nested too deep to tell
            return JSON if by_name == JSON else NDJSON
    return by_name


def _complete_lines(text: str, *, whole: bool, limit: int = 50) -> list[str]:
    lines = text.splitlines()
    if not whole and lines and not text.endswith(("\n", "\r")):
        lines = lines[:-1]
    return [line for line in lines if line.strip()][:limit]


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def _sniff_delimiter(lines: list[str]) -> str | None:
    best: tuple[float, int, str] | None = None
    for candidate in CANDIDATES:
        counts = [_count_outside_quotes(line, candidate) for line in lines]
        if not counts:
            continue
        mode, hits = Counter(counts).most_common(1)[0]
        if mode == 0:
            continue
        score = (hits / len(counts), mode, candidate)
        if best is None or score[:2] > best[:2]:
            best = score
    return best[2] if best else None


def _sniff_quote(lines: list[str], delimiter: str) -> str:
    sample = "\n".join(lines)
    double = sample.count(f'{delimiter}"') + sample.count(f'"{delimiter}')
    single = sample.count(f"{delimiter}'") + sample.count(f"'{delimiter}")
    return "'" if single > double and single >= 2 else '"'


def _split(line: str, delimiter: str, quote: str) -> list[str]:
    return [v.strip().strip(quote) for v in line.split(delimiter)]


def _has_header(lines: list[str], delimiter: str, quote: str) -> bool:
    """A header is a first row of name-like, non-numeric values unlike the data.

    Blank and repeated names do not make it data: the reader names them ``column_N`` and
    ``name_2`` and says so, which is what a user expects of a header with a gap or a repeat.
    """
    if not lines:
        return True
    first = _split(lines[0], delimiter, quote)
    named = [v for v in first if v]
    if not named or any(_NUMBER.match(v) or _DATE.match(v) for v in named):
        return False
    data = [_split(line, delimiter, quote) for line in lines[1:]]
    if not data:
        return all(_NAME.match(v) for v in named)
    for column, title in enumerate(first):
        if not title:
            continue
        values = [row[column] for row in data if column < len(row)]
        if title in values:
            return False
        if values and all(v == "" or _NUMBER.match(v) or _DATE.match(v) for v in values):
            return True  # a typed column under a text title
    return all(_NAME.match(v) for v in named)
