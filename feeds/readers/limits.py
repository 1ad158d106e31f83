"""Limits on what a compressed file or an archive may expand to (see docs/decisions/0005).

Readers stay free of Django: the feeds app installs a provider that reads the settings
(``SOURCES_MAX_DECOMPRESSED_BYTES``, ``SOURCES_MAX_COMPRESSION_RATIO``,
``SOURCES_MAX_ARCHIVE_MEMBERS``) each time, so a changed setting applies to the next read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

MAX_BYTES_SETTING = "SOURCES_MAX_DECOMPRESSED_BYTES"
RATIO_SETTING = "SOURCES_MAX_COMPRESSION_RATIO"
MEMBERS_SETTING = "SOURCES_MAX_ARCHIVE_MEMBERS"


@dataclass(frozen=True)
class Limits:
    # One decompressed file (a gzip/bzip2 file, a ZIP member, a whole TAR, a PGP plaintext).
    max_decompressed_bytes: int = 10 * GiB
    # Output over compressed input; real CSV/JSON exports compress 3:1 to 20:1.
    max_compression_ratio: float = 100.0
    # The ratio applies only past this much output: small, very repetitive files are fine.
    ratio_after_bytes: int = 16 * MiB
    max_archive_members: int = 1000


_provider: Callable[[], Limits] = Limits


def set_limits_provider(provider: Callable[[], Limits]) -> None:
    global _provider
    _provider = provider


def current_limits() -> Limits:
    return _provider()


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
