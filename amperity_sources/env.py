"""Where settings come from: the process environment, then the embedded stack's env file.

The launcher writes `.data/stack.env` with the URLs of the services it started, so that
`manage.py` commands run beside a running embedded stack find the same database and broker.
Real environment variables always win.
"""

import os
from pathlib import Path
from typing import overload
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("SOURCES_DATA_DIR", BASE_DIR / ".data"))
STACK_ENV_FILE = DATA_DIR / "stack.env"


def _stack_env() -> dict[str, str]:
    if not STACK_ENV_FILE.exists():
        return {}
    values = {}
    for line in STACK_ENV_FILE.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    return values


_STACK = _stack_env()


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or _STACK.get(name) or default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


def database_from_url(url: str) -> dict:
    """postgresql://user:pass@host:port/name?host=/socket/dir -> Django DATABASES entry."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    host = query.get("host", [parsed.hostname or ""])[0]
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "sources",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": 60,
    }
