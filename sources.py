#!/usr/bin/env python3
"""Set-up in one command, with nothing but Python 3.11+ on the machine.

    python3 sources.py start   # install, start the whole product on the embedded default
    python3 sources.py test    # install, run the full test suite

Both create the project's environment in .venv/ (once; again when a lock changes) and install
it from hashed locks (`pip install --require-hashes`): `start` what runs the product on the
embedded stack (requirements-embedded.lock), `test` that and the development tools
(requirements-dev.lock). Extra arguments after `test` go to pytest.

For developers and CI:

    python3 sources.py check   # install, then ruff, import contracts, mypy, migrations, locks
    python3 sources.py lock    # regenerate the three locks from pyproject.toml (uv, with hashes)
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PYTHON = BIN / "python"

# Each lock is made from pyproject.toml by `python3 sources.py lock`: the extras it includes.
LOCKS = {
    "requirements.lock": [],  # runtime only: the Docker image
    "requirements-embedded.lock": ["embedded"],  # `start`: the product on the embedded stack
    "requirements-dev.lock": ["embedded", "dev"],  # `test`, `check`: everything
}
LOCK_FOR = {"start": "requirements-embedded.lock", "test": "requirements-dev.lock"}
LOCK_FOR["check"] = LOCK_FOR["lock"] = "requirements-dev.lock"

_NO_DB_WARNING = "Got an error checking a consistent migration history"
# The checks CI runs before the tests (.ci/run), each a command in the environment.
CHECKS = [
    ["ruff", "check", "."],
    ["ruff", "format", "--check", "."],
    ["lint-imports"],
    ["mypy"],
    # Needs no database: without one Django only warns that it could not compare the history.
    ["python", "-W", f"ignore:{_NO_DB_WARNING}:RuntimeWarning", "manage.py", "makemigrations"]
    + ["--check", "--dry-run"],
    ["python", "sources.py", "lock", "--check"],
]


def ensure_environment(lock_name: str) -> None:
    """Create .venv and install ``lock_name`` into it unless that exact lock already is."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on any python3
        sys.exit(f"Sources needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    lock = ROOT / lock_name
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp = VENV / f".{lock_name}.sha256"  # one stamp per lock: start and test alternate freely
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing dependencies from {lock_name} …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--require-hashes", "-r", str(lock)], check=True)
    stamp.write_text(digest)


def ensure_chromium() -> None:
    """Browser tests drive Debian's Chromium; install it when we can (root with apt)."""
    if shutil.which("chromium") or os.environ.get("SOURCES_SKIP_BROWSER_INSTALL"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("Installing chromium for the browser tests …", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False)
    if not shutil.which("chromium"):
        print("chromium not found: browser tests will be skipped.", file=sys.stderr)


def run_checks() -> int:
    """Every check runs, so one report names all that is wrong; the exit code says if any was."""
    failed = []
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    # mypy's Django plugin and makemigrations load the settings, which refuse to run without a
    # secret key: the checks need one, never a real one.
    env.setdefault("DJANGO_SECRET_KEY", "checks-only-not-a-secret")
    for check in CHECKS:
        print(f"$ {' '.join(check)}", flush=True)
        if subprocess.run([str(BIN / check[0]), *check[1:]], cwd=ROOT, env=env).returncode:
            failed.append(" ".join(check))
    if failed:
        print("Failed: " + "; ".join(failed), file=sys.stderr)
    return 1 if failed else 0


def write_locks(args: list[str]) -> int:
    """Resolve pyproject.toml into each lock for Python 3.11+ on any platform, with hashes.

    Pins already in a lock are kept (uv prefers them); `lock --upgrade-package NAME` moves one.
    `lock --check` writes nothing and fails when a lock is not what pyproject.toml makes.
    """
    check = "--check" in args
    args = [a for a in args if a != "--check"]
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for lock_name, extras in LOCKS.items():
            output = Path(tmp) / lock_name if check else ROOT / lock_name
            if check:
                shutil.copyfile(ROOT / lock_name, output)  # its pins are the preferences
            command = [str(BIN / "uv"), "pip", "compile", "pyproject.toml", "--quiet"]
            command += [f"--extra={extra}" for extra in extras]
            command += ["--universal", "--python-version=3.11", "--generate-hashes"]
            command += ["--custom-compile-command=python3 sources.py lock"]
            subprocess.run([*command, f"--output-file={output}", *args], cwd=ROOT, check=True)
            if not check:
                print(f"wrote {lock_name}", flush=True)
            elif output.read_text() != (ROOT / lock_name).read_text():
                stale.append(lock_name)
    if stale:
        print(
            f"{', '.join(stale)} not made from pyproject.toml: run `python3 sources.py lock`",
            file=sys.stderr,
        )
    return 1 if stale else 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in LOCK_FOR:
        print(__doc__)
        return 2
    ensure_environment(LOCK_FOR[command])
    os.chdir(ROOT)
    if command == "check":
        return run_checks()
    if command == "lock":
        return write_locks(sys.argv[2:])
    if command == "test":
        ensure_chromium()
    args = [str(PYTHON), "-m", "amperity_sources.launcher", command, *sys.argv[2:]]
    os.execv(args[0], args)


if __name__ == "__main__":
    sys.exit(main())
