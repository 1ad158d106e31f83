"""A throwaway gpg home: keys are imported for one operation and gone afterwards.

Shared by file decryption (feeds/readers/pgp.py) and PGP credential checks (credentials/pgp.py),
so neither app imports the other.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

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
