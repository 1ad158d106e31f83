"""Keeps the launcher's processes running: a crashed worker, beat, web server, Redis or S3
endpoint is restarted with backoff instead of stopping the product, and every change is
logged and written to a status file (``status.json`` in the data dir) that the Status page
reads.

The clock is passed in (``now``) so the restart policy is testable without waiting.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger("sources.launcher")
BACKOFF_FIRST = 1.0  # seconds before the first restart of a crashed process
BACKOFF_MAX = 30.0
STEADY_AFTER = 10.0  # a process that ran this long started fine: backoff starts over
STATUS_FILE = "status.json"


def log_tail(path: Path | None, lines: int = 5, max_bytes: int = 4096) -> str:
    """The last lines of a log, for the status page's "last error"."""
    if path is None or not path.exists():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - max_bytes))
        text = handle.read().decode("utf-8", "replace")
    return "\n".join(text.strip().splitlines()[-lines:])


@dataclass
class Service:
    """A process the supervisor keeps alive. ``spawn`` starts it (and may wait until it is
    ready); ``stop`` ends it."""

    name: str
    spawn: Callable[[], subprocess.Popen]
    stop: Callable[[subprocess.Popen], None]
    log: Path | None = None
    process: subprocess.Popen | None = None  # given when it was started already
    after_restart: Callable[[], None] | None = None  # e.g. re-seed an in-memory S3
    state: str = "starting"  # running | restarting | stopped
    restarts: int = 0
    last_error: str = ""
    last_exit_at: str = ""
    started_at: float = 0.0
    backoff: float = BACKOFF_FIRST
    restart_at: float | None = None
    history: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "state": self.state,
            "pid": self.process.pid if self.process and self.process.poll() is None else None,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_exit_at": self.last_exit_at,
            "log": str(self.log) if self.log else "",
        }


class Supervisor:
    def __init__(self, status_path: Path, *, clock: Callable[[], float] = time.monotonic):
        self.status_path = status_path
        self.clock = clock
        self.services: list[Service] = []

    def add(self, service: Service) -> Service:
        self.services.append(service)
        now = self.clock()
        if service.process is not None and service.process.poll() is None:
            service.state, service.started_at = "running", now
        else:
            self._start(service, now)
        self.write_status()
        return service

    def _start(self, service: Service, now: float) -> None:
        try:
            service.process = service.spawn()
        except Exception as exc:  # the port is taken, the binary is gone, ...
            service.process = None
            self._crashed(service, now, f"could not start: {type(exc).__name__}: {exc}")
            return
        service.state, service.started_at, service.restart_at = "running", now, None

    def _crashed(self, service: Service, now: float, error: str) -> None:
        service.state = "restarting"
        service.last_error = error
        service.last_exit_at = datetime.now(UTC).isoformat(timespec="seconds")
        service.restart_at = now + service.backoff
        logger.warning(
            "%s: %s; restarting in %.0f s", service.name, error.splitlines()[0], service.backoff
        )
        service.backoff = min(BACKOFF_MAX, service.backoff * 2)

    def check(self, now: float | None = None) -> list[str]:
        """Notice exits and restart what is due. Returns the names restarted now."""
        now = self.clock() if now is None else now
        restarted = []
        for service in self.services:
            if service.state == "running" and service.process is not None:
                code = service.process.poll()
                if code is None:
                    if now - service.started_at >= STEADY_AFTER:
                        service.backoff = BACKOFF_FIRST
                    continue
                tail = log_tail(service.log)
                self._crashed(
                    service, now, f"exited with code {code}" + (f"\n{tail}" if tail else "")
                )
            if service.state == "restarting" and service.restart_at is not None:
                if now >= service.restart_at:
                    service.restarts += 1
                    logger.warning("%s: restart %d", service.name, service.restarts)
                    self._start(service, now)
                    if service.state == "running":
                        restarted.append(service.name)
                        self._after_restart(service)
        self.write_status()
        return restarted

    @staticmethod
    def _after_restart(service: Service) -> None:
        if service.after_restart is None:
            return
        try:
            service.after_restart()
        except Exception as exc:  # reported; the service itself is up
            service.last_error = f"after restart: {type(exc).__name__}: {exc}"
            logger.warning("%s: %s", service.name, service.last_error)

    def stop_all(self) -> None:
        for service in reversed(self.services):
            if service.process is not None:
                service.stop(service.process)
            service.state = "stopped"
        self.write_status()

    def write_status(self) -> None:
        """Atomically, so the Status page never reads half a file."""
        payload = {
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "launcher_pid": os.getpid(),
            "services": [s.as_dict() for s in self.services],
        }
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=1))
        tmp.replace(self.status_path)


def rotate_log(path: Path, *, max_bytes: int, backups: int) -> bool:
    """Size-capped rotation for a log a child process appends to (opened with O_APPEND):
    copy it to .1 (shifting older copies) and truncate it in place, so the child keeps
    writing to the same file."""
    if max_bytes <= 0 or not path.exists() or path.stat().st_size < max_bytes:
        return False
    for n in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{n}")
        if older.exists():
            older.replace(path.with_name(f"{path.name}.{n + 1}"))
    if backups > 0:
        with path.open("rb") as src, path.with_name(f"{path.name}.1").open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    os.truncate(path, 0)
    return True
