#!/usr/bin/env python3
"""Set-up in one command, with nothing but Python 3.11+ on the machine.

    python3 sources.py start   # install, start the whole product on the embedded default
    python3 sources.py test    # install, run the full test suite

Both create the project's environment in .venv/ (once; again when requirements.lock changes).
Extra arguments after `test` go to pytest.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".requirements.sha256"


def ensure_environment() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs on any python3
        sys.exit(f"Sources needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if not PYTHON.exists():
        print("Creating .venv …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    print("Installing dependencies from requirements.lock …", flush=True)
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    STAMP.write_text(digest)


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


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in {"start", "test"}:
        print(__doc__)
        return 2
    ensure_environment()
    if command == "test":
        ensure_chromium()
    os.chdir(ROOT)
    args = [str(PYTHON), "-m", "amperity_sources.launcher", command, *sys.argv[2:]]
    os.execv(args[0], args)


if __name__ == "__main__":
    sys.exit(main())
