"""Reader limits: Django settings when Django is configured, else their defaults.

Readers stay usable without Django (scripts, benchmarks); in the product the limits are the
settings of amperity_sources/settings.py, read from environment variables there.
"""

from __future__ import annotations


def reader_limit(name: str, default: int) -> int:
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:
        return default
    try:
        return int(getattr(settings, name, default))
    except ImproperlyConfigured:
        return default
