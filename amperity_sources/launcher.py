"""Start the whole product, or run the test suite, on the embedded default stack.

    python -m amperity_sources.launcher start      # what `python3 sources.py start` runs
    python -m amperity_sources.launcher test [...]  # what `python3 sources.py test` runs

Services whose variables are already set (DATABASE_URL, REDIS_URL, S3_ENDPOINT_URL) are used
as they are; only the missing ones are started here.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
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
from .supervisor import STATUS_FILE, Service, Supervisor, rotate_log

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_USER, DEMO_PASSWORD = "demo", "demo-sources"
PORTS_FILE = "ports.json"  # the ports chosen last time: a restart keeps its addresses
logger = logging.getLogger("sources.launcher")


def _int_env(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


class Stack:
    def __init__(self, data_dir: Path, *, fixed_ports: bool):
        self.data_dir = data_dir
        self.fixed_ports = fixed_ports
        self.services: list = []
        self.env: dict[str, str] = {}
        self.redis: EmbeddedRedis | None = None
        self.s3: EmbeddedS3 | None = None
        self._ports_path = data_dir / PORTS_FILE

    def _remembered(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self._ports_path.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def port(self, variable: str, preferred: int) -> int:
        """The variable's port if set, else the one used last time, else the default; a
        different one only if that is really taken (and then it is remembered)."""
        if not self.fixed_ports:
            return free_port(None)
        remembered = self._remembered()
        wanted = int(os.environ.get(variable) or remembered.get(variable) or preferred)
        port = free_port(wanted)
        if port != wanted:
            print(f"  port {wanted} ({variable}) is in use: using {port}", flush=True)
        if remembered.get(variable) != port:
            remembered[variable] = port
            self._ports_path.write_text(json.dumps(remembered, indent=1) + "\n")
        return port

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
            redis = EmbeddedRedis(self.data_dir, self.port("SOURCES_REDIS_PORT", 16379))
            env["REDIS_URL"] = redis.start()
            self.services.append(redis)
            self.redis = redis
            print(f"  Redis     {env['REDIS_URL']}", flush=True)
        if not os.environ.get("S3_ENDPOINT_URL"):
            s3 = EmbeddedS3(self.data_dir, self.port("SOURCES_S3_PORT", 19000))
            env["S3_ENDPOINT_URL"] = s3.start()
            self.services.append(s3)
            self.s3 = s3
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


def _launcher_logging(logs: Path) -> None:
    """The launcher's own log (restarts, rotations): on the console and in a rotating file."""
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler = logging.handlers.RotatingFileHandler(
        logs / "launcher.log",
        maxBytes=_int_env("SOURCES_LOG_MAX_BYTES", 10_000_000),
        backupCount=_int_env("SOURCES_LOG_BACKUPS", 3),
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.handlers[:] = [console, handler]


def _spawner(command: list[str], env: dict[str, str], log: Path):
    def spawn() -> subprocess.Popen:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT
        )

    return spawn


def _restartable(service) -> tuple:
    """(spawn, stop) for an embedded Redis or S3 endpoint: started again on its own port,
    so the URLs the other processes hold stay right."""

    def spawn() -> subprocess.Popen:
        service.start()
        return service.process

    return spawn, lambda _process: service.stop()


def start() -> int:
    data_dir = Path(os.environ.get("SOURCES_DATA_DIR", ROOT / ".data"))
    print("Starting Sources on the embedded default stack…", flush=True)
    stack = Stack(data_dir, fixed_ports=True)
    supervisor = Supervisor(data_dir / STATUS_FILE)
    try:
        env = _child_env(stack.start())
        stack.write_env_file()
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "seed_demo", "--username", DEMO_USER, "--password", DEMO_PASSWORD)
        web_port = stack.port("SOURCES_WEB_PORT", 8000)
        logs = data_dir / "logs"
        logs.mkdir(exist_ok=True)
        _launcher_logging(logs)
        if stack.redis is not None:
            spawn, stop = _restartable(stack.redis)
            supervisor.add(Service("redis", spawn, stop, log=stack.redis.dir / "redis.log",
                                   process=stack.redis.process))  # fmt: skip
        if stack.s3 is not None:
            spawn, stop = _restartable(stack.s3)
            reseed = lambda: _manage(env, "seed_demo", "--username", DEMO_USER,  # noqa: E731
                                     "--password", DEMO_PASSWORD)  # fmt: skip
            supervisor.add(Service("s3", spawn, stop, log=stack.s3.log,
                                   process=stack.s3.process, after_restart=reseed))  # fmt: skip
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
            log = logs / f"{name}.log"
            supervisor.add(Service(name, _spawner(command, env, log), _terminate, log=log))
        print(
            f"\nSources is running at http://127.0.0.1:{web_port}/\n"
            f"Log in as {DEMO_USER} / {DEMO_PASSWORD}\n"
            f"Logs: {logs}   Status: http://127.0.0.1:{web_port}/status/   Stop with Ctrl-C.\n",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        max_bytes = _int_env("SOURCES_LOG_MAX_BYTES", 10_000_000)
        backups = _int_env("SOURCES_LOG_BACKUPS", 3)
        ticks = 0
        while True:
            supervisor.check()
            ticks += 1
            if ticks % 10 == 0:
                for log in logs.glob("*.log"):
                    if log.name != "launcher.log" and rotate_log(
                        log, max_bytes=max_bytes, backups=backups
                    ):
                        logger.info("rotated %s", log.name)
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        supervisor.stop_all()
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
