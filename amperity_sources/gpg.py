"""A throwaway gpg home: keys are imported for one operation and gone afterwards.

Shared by file decryption (feeds/readers/pgp.py) and PGP credential checks (credentials/pgp.py),
so neither app imports the other.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

import gnupg


class GpgUnavailable(Exception):
    """The gpg program is not installed (or cannot be run)."""


def write_agent_conf(home: str) -> None:
    """The agent re-protects imported keys; in a home deleted seconds later a cheap protection
    is enough, and gpg's calibrated default costs seconds on a busy machine."""
    with open(os.path.join(home, "gpg-agent.conf"), "w") as conf:
        conf.write("s2k-count 65536\n")


@contextmanager
def throwaway_gpg(prefix: str = "pgp-") -> Iterator[tuple[gnupg.GPG, str]]:
    """(gpg, home) for one operation; raises GpgUnavailable when gpg cannot be run."""
    with tempfile.TemporaryDirectory(prefix=prefix) as home:
        write_agent_conf(home)
        try:
            gpg = gnupg.GPG(gnupghome=home)
        except (OSError, ValueError) as exc:
            raise GpgUnavailable(str(exc)) from exc
        try:
            yield gpg, home
        finally:
            _stop_agent(home)


def _stop_agent(home: str) -> None:
    try:
        subprocess.run(
            ["gpgconf", "--homedir", home, "--kill", "gpg-agent"], capture_output=True, check=False
        )
    except OSError:
        pass  # no gpgconf: the agent exits by itself once its home directory is gone


@dataclass(frozen=True)
class GpgDecryption:
    returncode: int
    stderr: str  # gpg's messages and its "[GNUPG:] ..." status lines

    def status(self, keyword: str) -> list[list[str]]:
        """The arguments of each status line with this keyword."""
        found = []
        for line in self.stderr.splitlines():
            if line.startswith("[GNUPG:] "):
                parts = line[9:].split()
                if parts and parts[0] == keyword:
                    found.append(parts[1:])
        return found

    def has(self, keyword: str) -> bool:
        return bool(self.status(keyword))


def gpg_decrypt(
    gpg: gnupg.GPG,
    home: str,
    source: BinaryIO,
    output: str,
    *,
    passphrase: str | None,
    max_output: int | None = None,
) -> GpgDecryption:
    """Decrypt ``source`` into the file ``output`` with the keys in ``home``.

    python-gnupg sends a passphrase down the same stdin as the data, so gpg takes the
    passphrase for data when the key has none; here it goes through its own pipe, read only
    if the key needs it. gpg's status is kept even when it stops reading early (python-gnupg
    loses it to a broken pipe). Errors reading ``source`` propagate.
    """
    args = [gpg.gpgbinary, "--homedir", home, "--batch", "--no-tty", "--status-fd", "2",
            "--pinentry-mode", "loopback", "--trust-model", "always", "--yes",
            "--output", output]  # fmt: skip
    if max_output:
        args += ["--max-output", str(max_output)]
    pass_fds: tuple[int, ...] = ()
    if passphrase:
        read_end, write_end = os.pipe()
        os.write(write_end, passphrase.encode() + b"\n")
        os.close(write_end)
        args += ["--passphrase-fd", str(read_end)]
        pass_fds = (read_end,)
    else:
        args += ["--passphrase", ""]  # an unprotected key needs none; a protected one fails
    try:
        process = subprocess.Popen(
            [*args, "--decrypt"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=pass_fds,
        )
    except OSError as exc:
        raise GpgUnavailable(str(exc)) from exc
    finally:
        for fd in pass_fds:
            os.close(fd)
    messages: list[bytes] = []
    reader = threading.Thread(target=lambda: messages.append(process.stderr.read()), daemon=True)
    reader.start()
    try:
        _feed(source, process.stdin)
    except BaseException:
        process.kill()
        raise
    finally:
        process.wait()
        reader.join()
    return GpgDecryption(process.returncode, b"".join(messages).decode("utf-8", "replace"))


def _feed(source: BinaryIO, stdin) -> None:
    try:
        while chunk := source.read(1024 * 1024):
            stdin.write(chunk)
    except BrokenPipeError:
        pass  # gpg stopped reading: its status says why
    finally:
        try:
            stdin.close()
        except BrokenPipeError:
            pass
