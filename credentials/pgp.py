"""Check a PGP credential: the private key parses and the passphrase unlocks it.

Uses the system `gpg` through python-gnupg in a throwaway GNUPGHOME, so the key never stays on
disk. The check encrypts a few bytes to the key and decrypts them with the passphrase: that
proves the key can do what a courier needs (decrypt files), not just that it imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import gnupg

from amperity_sources.gpg import GpgUnavailable, throwaway_gpg

PGP_NOT_AVAILABLE = "pgp_unavailable"
PGP_INVALID_KEY = "pgp_invalid_key"
PGP_CANNOT_DECRYPT = "pgp_cannot_decrypt"
PGP_BAD_PASSPHRASE = "pgp_bad_passphrase"


@dataclass(frozen=True)
class PgpProblem:
    code: str
    message: str


def pgp_key_check(private_key: str, passphrase: str) -> PgpProblem | None:
    """None when the key can decrypt with this passphrase, else what is wrong."""
    try:
        with throwaway_gpg(prefix="pgp-check-") as (gpg, _home):
            return _check(gpg, private_key, passphrase)
    except GpgUnavailable:
        return PgpProblem(PGP_NOT_AVAILABLE, "The gpg program is not available on the server.")


def _check(gpg: gnupg.GPG, private_key: str, passphrase: str) -> PgpProblem | None:
    imported = gpg.import_keys(private_key)
    if not imported.sec_imported:
        return PgpProblem(
            PGP_INVALID_KEY,
            "The private key cannot be read. Paste the whole ASCII-armored key, from "
            "“-----BEGIN PGP PRIVATE KEY BLOCK-----” to the END line.",
        )
    fingerprint = imported.fingerprints[0]
    sealed = gpg.encrypt(b"connection test", fingerprint, always_trust=True, armor=True)
    if not sealed.ok:
        return PgpProblem(
            PGP_CANNOT_DECRYPT,
            "This key has no encryption subkey, so it cannot decrypt files.",
        )
    opened = gpg.decrypt(str(sealed), passphrase=passphrase or None, always_trust=True)
    if opened.ok and opened.data == b"connection test":
        return None
    text = f"{opened.status or ''}\n{opened.stderr or ''}".lower()
    if "passphrase" in text or not passphrase:
        hint = "enter the key's passphrase" if not passphrase else "check the passphrase"
        return PgpProblem(
            PGP_BAD_PASSPHRASE, f"The passphrase does not unlock the private key: {hint}."
        )
    return PgpProblem(PGP_CANNOT_DECRYPT, "The private key could not decrypt a test message.")
