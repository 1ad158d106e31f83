"""Start the whole product, or run the test suite, on the embedded default stack.

    python -m amperity_sources.launcher start      # what `python3 sources.py start` runs
    python -m amperity_sources.launcher test [...]  # what `python3 sources.py test` runs

Services whose variables are already set (DATABASE_URL, REDIS_URL, S3_ENDPOINT_URL) are used
as they are; only the missing ones are started here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedS3,
    _terminate,
    ensure_local_secrets,
    free_port,
)

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_USER, DEMO_PASSWORD = "demo", "demo-sources"


class Stack:
    def __init__(self, data_dir: Path, *, fixed_ports: bool):
        self.data_dir = data_dir
        self.fixed_ports = fixed_ports
        self.services: list = []
        self.env: dict[str, str] = {}

    def _port(self, variable: str, preferred: int) -> int:
        wanted = int(os.environ.get(variable, preferred))
        return free_port(wanted if self.fixed_ports else None)

    def start(self) -> dict[str, str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {"SOURCES_DATA_DIR": str(self.data_dir)}
        env.update(ensure_local_secrets(self.data_dir))
        if not os.environ.get("SOURCES_ALLOWED_PRIVATE_NETWORKS"):
            # The embedded S3 endpoint listens on loopback: credentials may point there.
            env["SOURCES_ALLOWED_PRIVATE_NETWORKS"] = "127.0.0.0/8,::1/128"
        if not os.environ.get("DATABASE_URL"):
            postgres = EmbeddedPostgres(self.data_dir)
            env["DATABASE_URL"] = postgres.start()
            self.services.append(postgres)
            print(f"  Postgres  {postgres.pgdata}", flush=True)
        if not os.environ.get("REDIS_URL"):
            redis = EmbeddedRedis(self.data_dir, self._port("SOURCES_REDIS_PORT", 16379))
            env["REDIS_URL"] = redis.start()
            self.services.append(redis)
            print(f"  Redis     {env['REDIS_URL']}", flush=True)
        if not os.environ.get("S3_ENDPOINT_URL"):
            s3 = EmbeddedS3(self.data_dir, self._port("SOURCES_S3_PORT", 19000))
            env["S3_ENDPOINT_URL"] = s3.start()
            self.services.append(s3)
            print(f"  S3        {env['S3_ENDPOINT_URL']} (moto, in memory)", flush=True)
        self.env = env
        return env

    def write_env_file(self) -> None:
        lines = [f"{k}={v}" for k, v in self.env.items() if k != "SOURCES_DATA_DIR"]
        (self.data_dir / "stack.env").write_text(
            "# Written by the launcher for manage.py commands beside the running stack.\n"
            + "\n".join(lines)
            + "\n"
        )

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        stack_env = self.data_dir / "stack.env"
        if stack_env.exists():
            stack_env.unlink()


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")
    env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start() -> int:
    data_dir = Path(os.environ.get("SOURCES_DATA_DIR", ROOT / ".data"))
    print("Starting Sources on the embedded default stack…", flush=True)
    stack = Stack(data_dir, fixed_ports=True)
    processes: list[subprocess.Popen] = []
    try:
        env = _child_env(stack.start())
        stack.write_env_file()
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "seed_demo", "--username", DEMO_USER, "--password", DEMO_PASSWORD)
        web_port = free_port(int(os.environ.get("SOURCES_WEB_PORT", 8000)))
        logs = data_dir / "logs"
        logs.mkdir(exist_ok=True)
        commands = {
            "web": [PYTHON, "-m", "gunicorn", "amperity_sources.wsgi",
                    "-b", f"127.0.0.1:{web_port}", "--workers", "2", "--threads", "4",
                    "--timeout", "120"],
            "worker": [PYTHON, "-m", "celery", "-A", "amperity_sources", "worker",
                       "-l", "info", "--concurrency", "2"],
            "beat": [PYTHON, "-m", "celery", "-A", "amperity_sources", "beat", "-l", "info",
                     "-s", str(data_dir / "celerybeat-schedule")],
        }  # fmt: skip
        for name, command in commands.items():
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=(logs / f"{name}.log").open("ab"),
                    stderr=subprocess.STDOUT,
                )
            )
        print(
            f"\nSources is running at http://127.0.0.1:{web_port}/\n"
            f"Log in as {DEMO_USER} / {DEMO_PASSWORD}\n"
            f"Logs: {logs}   Stop with Ctrl-C.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        failed = [n for n, p in zip(commands, processes, strict=True) if p.poll() is not None]
        print(f"Stopping: {', '.join(failed)} exited; see {logs}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        for process in processes:
            _terminate(process)
        stack.stop()


def test(pytest_args: list[str]) -> int:
    """Run pytest against a fresh, throw-away embedded stack (or the services given)."""
    with tempfile.TemporaryDirectory(prefix="sources-test-") as tmp:
        stack = Stack(Path(tmp), fixed_ports=False)
        try:
            env = _child_env(stack.start())
            return subprocess.call([PYTHON, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)
        finally:
            stack.stop()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"start", "test"}:
        print(__doc__)
        return 2
    return start() if argv[0] == "start" else test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
