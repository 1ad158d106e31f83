"""Secrets at rest: Fernet tokens under keys from SOURCES_SECRET_KEYS.

The setting holds comma-separated keys, newest first. MultiFernet encrypts with the first
and decrypts with any, so a key can be rotated in: put the new key first, run
`manage.py rotate_secrets`, then drop the old key.
"""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    keys = [k.strip() for k in settings.SOURCES_SECRET_KEYS.split(",") if k.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "SOURCES_SECRET_KEYS is not set: secrets cannot be stored. "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        )
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_secrets(values: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def decrypt_secrets(token: str) -> dict[str, str]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "Stored secrets cannot be decrypted with the keys in SOURCES_SECRET_KEYS "
            "(was a key removed before rotating?)"
        ) from exc


def rotate(token: str) -> str:
    return _fernet().rotate(token.encode()).decode()
