"""The launcher's supervisor: a crashed process is restarted with backoff (not the whole
product stopped), the status file says what happened, logs rotate, and ports stay put across
restarts. The clock is passed in; the children are real processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from amperity_sources import supervisor as sup
from amperity_sources.embedded import _terminate, free_port
from amperity_sources.launcher import ROOT, Stack
from amperity_sources.supervisor import Service, Supervisor, rotate_log


def sleeper(log: Path):
    def spawn() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", "print('up', flush=True); import time; time.sleep(600)"],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    return spawn


def wait_dead(process: subprocess.Popen) -> None:
    process.wait(10)


@pytest.fixture
def supervisor(tmp_path):
    s = Supervisor(tmp_path / "status.json", clock=lambda: 0.0)
    yield s
    s.stop_all()


def test_a_killed_process_is_restarted_after_its_backoff(supervisor, tmp_path):
    service = supervisor.add(Service("worker", sleeper(tmp_path / "w.log"), _terminate,
                                     log=tmp_path / "w.log"))  # fmt: skip
    first = service.process
    deadline = time.monotonic() + 20
    while b"up" not in (tmp_path / "w.log").read_bytes():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    wait_dead(first)

    assert supervisor.check(now=1.0) == []  # noticed; the restart waits for its backoff
    status = json.loads((tmp_path / "status.json").read_text())["services"][0]
    assert status["state"] == "restarting"
    assert status["last_error"].startswith("exited with code -9")
    assert "up" in status["last_error"]  # the tail of its log says what it printed last

    assert supervisor.check(now=1.0 + sup.BACKOFF_FIRST) == ["worker"]
    assert service.process.pid != first.pid and service.process.poll() is None
    status = json.loads((tmp_path / "status.json").read_text())["services"][0]
    assert status == {**status, "state": "running", "restarts": 1, "pid": service.process.pid}


def test_a_crash_loop_backs_off_and_never_stops_the_others(supervisor, tmp_path):
    crashing = supervisor.add(Service(
        "beat", lambda: subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"]),
        _terminate,
    ))  # fmt: skip
    steady = supervisor.add(Service("web", sleeper(tmp_path / "web.log"), _terminate))
    now, delays = 0.0, []
    for _ in range(7):
        wait_dead(crashing.process)
        supervisor.check(now=now)  # notices the exit
        delays.append(crashing.restart_at - now)
        now = crashing.restart_at
        supervisor.check(now=now)  # restarts it
    assert delays == [1, 2, 4, 8, 16, 30, 30]
    assert crashing.restarts == 7 and crashing.last_error.startswith("exited with code 3")
    assert steady.state == "running" and steady.restarts == 0 and steady.process.poll() is None


def test_a_process_that_cannot_start_is_retried(supervisor):
    attempts = []

    def spawn():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("address already in use")
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    service = supervisor.add(Service("redis", spawn, _terminate))
    assert service.state == "restarting"
    assert service.last_error == "could not start: OSError: address already in use"
    assert supervisor.check(now=sup.BACKOFF_FIRST) == ["redis"]
    assert service.state == "running"


def test_backoff_starts_over_once_a_process_has_run_steadily(supervisor, tmp_path):
    service = supervisor.add(Service("worker", sleeper(tmp_path / "w.log"), _terminate))
    service.backoff = 16.0  # after a bad spell
    supervisor.check(now=sup.STEADY_AFTER)
    assert service.backoff == sup.BACKOFF_FIRST


def test_rotation_keeps_the_child_writing_to_the_same_file(tmp_path):
    log = tmp_path / "worker.log"
    child = subprocess.Popen(
        [sys.executable, "-u", "-c",
         "import sys\nprint('a' * 6000)\nsys.stdin.readline()\nprint('after rotation')"],
        stdin=subprocess.PIPE, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while log.stat().st_size < 6000:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    (tmp_path / "worker.log.1").write_text("older\n")
    assert rotate_log(log, max_bytes=5_000, backups=2)
    child.communicate(b"go\n", timeout=20)
    assert log.read_bytes() == b"after rotation\n"  # appended at the start, no hole
    assert (tmp_path / "worker.log.1").read_bytes() == b"a" * 6000 + b"\n"
    assert (tmp_path / "worker.log.2").read_text() == "older\n"
    assert not rotate_log(log, max_bytes=5_000, backups=2)  # under the cap
    assert not rotate_log(log, max_bytes=0, backups=2)  # 0 = no rotation


def test_a_port_in_time_wait_is_reused(tmp_path):
    """A restart within a minute of stopping keeps its ports (the issue: they moved)."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server closes first: its side goes to TIME_WAIT
    client.close()
    server.close()
    assert free_port(port) == port


def test_the_stack_remembers_its_ports(tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCES_REDIS_PORT", raising=False)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    try:
        first = Stack(tmp_path, fixed_ports=True).port("SOURCES_REDIS_PORT", busy)
        assert first != busy  # the default was really taken: another port, remembered
    finally:
        taken.close()
    assert json.loads((tmp_path / "ports.json").read_text()) == {"SOURCES_REDIS_PORT": first}
    assert Stack(tmp_path, fixed_ports=True).port("SOURCES_REDIS_PORT", busy) == first


@pytest.mark.worker
def test_the_real_worker_killed_is_restarted_and_serves_again(tmp_path):
    """The worker's main process SIGKILLed (the issue: nothing restarted it)."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs the stack's broker (python3 sources.py test)")
    log = tmp_path / "worker.log"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "celery", "-A", "amperity_sources", "worker", "-l", "info",
               "-P", "solo", "-Q", f"nobody-{uuid.uuid4().hex[:6]}",
               "-n", f"supervised-{uuid.uuid4().hex[:6]}@%h"]  # fmt: skip

    def spawn():
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"),
                                stderr=subprocess.STDOUT)  # fmt: skip

    supervisor = Supervisor(tmp_path / "status.json", clock=lambda: 0.0)
    try:
        service = supervisor.add(Service("worker", spawn, _terminate, log=log))
        _wait_ready(log, 1)
        os.kill(service.process.pid, signal.SIGKILL)
        service.process.wait(10)
        supervisor.check(now=1.0)
        assert supervisor.check(now=1.0 + sup.BACKOFF_FIRST) == ["worker"]
        _wait_ready(log, 2)
        assert service.process.poll() is None and service.restarts == 1
    finally:
        supervisor.stop_all()


def _wait_ready(log: Path, times: int) -> None:
    deadline = time.monotonic() + 60
    while log.read_bytes().count(b" ready.") < times:
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.2)
