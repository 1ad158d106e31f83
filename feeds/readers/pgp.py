"""PGP decryption with the system ``gpg`` program (via python-gnupg).

Each call uses a fresh temporary GNUPGHOME holding only the given private key, so keys never
persist on disk. The plaintext goes to an unlinked temporary file, not to memory.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import gnupg

from amperity_sources.gpg import GpgUnavailable, throwaway_gpg

from .errors import ReaderError


def decrypt_pgp(stream: BinaryIO, private_key: str, passphrase: str | None) -> BinaryIO:
    """Decrypt a PGP message (binary or ASCII-armored); returns a readable, seekable file."""
    try:
        with throwaway_gpg() as (gpg, home):
            imported = gpg.import_keys(private_key)
            if not imported.sec_imported:
                raise ReaderError(
                    "PGP error: the credential holds no usable private key "
                    "(expected an ASCII-armored PGP PRIVATE KEY BLOCK)"
                )
            out = os.path.join(home, "plain")
            result = gpg.decrypt_file(
                stream, passphrase=passphrase or "", output=out, always_trust=True
            )
            if not result.ok:
                raise ReaderError(f"PGP error: {_cause(result)}")
            # The directory goes when the block ends; the open file stays readable until closed.
            return open(out, "rb")  # noqa: SIM115 - returned to the caller
    except GpgUnavailable as exc:
        raise ReaderError(f"PGP error: the gpg program is not available ({exc})") from exc


def _cause(result: gnupg.Crypt) -> str:
    text = f"{result.status or ''}\n{result.stderr or ''}"
    if "NO_SECKEY" in text or "secret key not available" in text.lower():
        return "the file was encrypted for a different key (wrong private key)"
    if "BAD_PASSPHRASE" in text or "bad passphrase" in text.lower():
        return "bad passphrase for the private key"
    if "NODATA" in text or "no valid OpenPGP data" in text or "no data" in text.lower():
        return "the file is not PGP-encrypted data"
    if "DECRYPTION_FAILED" in text:
        return "decryption failed (the data may be corrupt or truncated)"
    return f"decryption failed ({(result.status or 'unknown error').strip()})"
