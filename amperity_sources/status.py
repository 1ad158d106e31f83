"""The Status page's facts: the launcher's status file (its supervised processes) and two
live checks made from the web process (database, task queue)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection

STALE_STATUS = timedelta(seconds=30)  # the launcher rewrites it every second while alive


@dataclass
class StackStatus:
    services: list[dict] = field(default_factory=list)
    updated_at: datetime | None = None
    launcher_gone: bool = False  # the file is old: the launcher is not supervising any more
    file: str = ""


def launcher_status(now: datetime | None = None, path: Path | None = None) -> StackStatus:
    path = path or Path(settings.DATA_DIR) / "status.json"
    status = StackStatus(file=str(path))
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError):
        return status  # not started by the launcher (docker compose, another supervisor)
    status.services = payload.get("services", [])
    status.updated_at = datetime.fromisoformat(payload["updated_at"])
    status.launcher_gone = (now or datetime.now(UTC)) - status.updated_at > STALE_STATUS
    return status


def database_ok() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def task_queue_ok() -> str:
    """ "" when the broker answers within a second, else the error."""
    import redis

    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
        client.close()
        return ""
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
