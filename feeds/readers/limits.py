"""Reader limits: Django settings when Django is configured, else their defaults.

Readers stay usable without Django (scripts, benchmarks); in the product the limits are the
settings of amperity_sources/settings.py, read from environment variables there, each time they
are needed (a changed setting applies to the next read). The decompression and archive limits
are explained in docs/decisions/0007-decompression-limits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

N = TypeVar("N", int, float)


def reader_limit(name: str, default: N) -> N:
    """The setting ``name`` (as the type of ``default``), or ``default`` without Django."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:
        return default
    try:
        return type(default)(getattr(settings, name, default))
    except ImproperlyConfigured:
        return default


KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MAX_BYTES_SETTING = "SOURCES_MAX_DECOMPRESSED_BYTES"
RATIO_SETTING = "SOURCES_MAX_COMPRESSION_RATIO"
MEMBERS_SETTING = "SOURCES_MAX_ARCHIVE_MEMBERS"
RATIO_AFTER_SETTING = "SOURCES_COMPRESSION_RATIO_AFTER_BYTES"


@dataclass(frozen=True)
class Limits:
    # One decompressed file (a gzip/bzip2 file, a ZIP member, a whole TAR, a PGP plaintext).
    max_decompressed_bytes: int = 10 * GiB
    # Output over compressed input; real CSV/JSON exports compress 3:1 to 20:1.
    max_compression_ratio: float = 100.0
    # The ratio applies only past this much output: small, very repetitive files are fine.
    ratio_after_bytes: int = 16 * MiB
    max_archive_members: int = 1000


def current_limits() -> Limits:
    """The limits in force now (read each time: a changed setting applies to the next read)."""
    d = Limits()
    return Limits(
        max_decompressed_bytes=reader_limit(MAX_BYTES_SETTING, d.max_decompressed_bytes),
        max_compression_ratio=reader_limit(RATIO_SETTING, d.max_compression_ratio),
        ratio_after_bytes=reader_limit(RATIO_AFTER_SETTING, d.ratio_after_bytes),
        max_archive_members=reader_limit(MEMBERS_SETTING, d.max_archive_members),
    )


def size_text(size: float) -> str:
    """``10 GiB``, ``1.5 MiB``, ``300 bytes``."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{int(size)} bytes"


def too_big(max_bytes: int) -> str:
    return f"decompresses to more than {size_text(max_bytes)} (setting {MAX_BYTES_SETTING})"


def too_compressed(limits: Limits, out: int, compressed: int) -> str:
    return (
        f"decompresses to more than {limits.max_compression_ratio:g} times its compressed size "
        f"({size_text(out)} from {size_text(compressed)}): refused as a likely decompression "
        f"bomb (setting {RATIO_SETTING})"
    )


def check_output(limits: Limits, out: int, compressed: int) -> str | None:
    """Why ``out`` decompressed bytes from ``compressed`` input cross a limit, or None."""
    if out > limits.max_decompressed_bytes:
        return too_big(limits.max_decompressed_bytes)
    if out > limits.ratio_after_bytes and out > limits.max_compression_ratio * max(compressed, 1):
        return too_compressed(limits, out, compressed)
    return None
