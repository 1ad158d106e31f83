"""PGP decryption with the system ``gpg`` program (keys imported with python-gnupg).

Each call uses a fresh temporary GNUPGHOME holding only the given private key, so keys never
persist on disk. The plaintext goes to a file in that home, not to memory, and is returned
only when gpg says the whole message decrypted AND passed its integrity check (MDC): gpg writes
plaintext before it finds out that a message was tampered with, so on any failure the file is
dropped with the home. Messages without integrity protection are refused. The plaintext is
bounded like any decompressed file (gpg's --max-output), since PGP messages may be compressed.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import gnupg

from amperity_sources.gpg import GpgDecryption, GpgUnavailable, gpg_decrypt, throwaway_gpg

from .errors import ReaderError
from .limits import MAX_BYTES_SETTING, RATIO_SETTING, current_limits, size_text


def decrypt_pgp(
    stream: BinaryIO, private_key: str, passphrase: str | None, *, name: str = ""
) -> BinaryIO:
    """Decrypt a PGP message (binary or ASCII-armored); returns a readable, seekable file."""
    limit, setting = _output_limit(stream)
    try:
        with throwaway_gpg() as (gpg, home):
            imported = gpg.import_keys(private_key)
            if not imported.sec_imported:
                raise _error(
                    name,
                    "the credential holds no usable private key "
                    "(expected an ASCII-armored PGP PRIVATE KEY BLOCK)",
                )
            out = os.path.join(home, "plain")
            result = gpg_decrypt(gpg, home, stream, out, passphrase=passphrase, max_output=limit)
            if not _verified(result):
                raise _error(name, _cause(result, gpg, passphrase, limit, setting))
            # The directory goes when the block ends; the open file stays readable until closed.
            return open(out, "rb")  # noqa: SIM115 - returned to the caller
    except GpgUnavailable as exc:
        raise _error(name, f"the gpg program is not available ({exc})") from exc


def _error(name: str, cause: str) -> ReaderError:
    if not name:
        return ReaderError(f"PGP error: {cause}")
    return ReaderError.at(name, "", f"PGP error: {cause}")


def _output_limit(stream: BinaryIO) -> tuple[int, str]:
    """The most plaintext to accept, and the setting that sets it: the absolute cap, or the
    ratio to the encrypted size when that size is known."""
    limits = current_limits()
    size = getattr(stream, "size", None)
    if isinstance(size, int) and size > 0:
        by_ratio = max(limits.ratio_after_bytes, int(limits.max_compression_ratio * size))
        if by_ratio < limits.max_decompressed_bytes:
            return by_ratio, RATIO_SETTING
    return limits.max_decompressed_bytes, MAX_BYTES_SETTING


def _verified(result: GpgDecryption) -> bool:
    """Decrypted whole, integrity-checked (MDC or AEAD), nothing cut short."""
    return (
        result.returncode == 0
        and result.has("DECRYPTION_OKAY")
        and result.has("GOODMDC")
        and not result.has("BADMDC")
        and not result.has("DECRYPTION_FAILED")
        and "max-output" not in result.stderr
    )


def _cause(
    result: GpgDecryption, gpg: gnupg.GPG, passphrase: str | None, limit: int, setting: str
) -> str:
    text = result.stderr
    lower = text.lower()
    if "max-output" in text:
        if setting == RATIO_SETTING:
            return (
                f"decrypts to more than {current_limits().max_compression_ratio:g} times its "
                f"encrypted size ({size_text(limit)}): refused as a likely decompression bomb "
                f"(setting {RATIO_SETTING})"
            )
        return f"decrypts to more than {size_text(limit)} (setting {MAX_BYTES_SETTING})"
    if "crc error" in lower or "invalid radix64" in lower:
        return "the ASCII armor is damaged"
    # gpg says BEGIN_DECRYPTION even when it cannot get at the session key; DECRYPTION_KEY
    # means our key opened it, so any later failure is the data's.
    opened = result.has("DECRYPTION_KEY") or result.has("PLAINTEXT")
    if result.has("NO_SECKEY") and not opened:
        wanted = ", ".join(args[0] for args in result.status("ENC_TO")) or "unknown"
        return (
            f"the file was encrypted for a different key: key id {wanted}; the credential "
            f"holds key {', '.join(_held_key_ids(gpg)) or 'none'}"
        )
    if not opened and (result.has("BAD_PASSPHRASE") or "passphrase" in lower):
        if not passphrase:
            return "the credential's private key needs a passphrase: add it to the credential"
        return "the passphrase does not unlock the credential's private key"
    info = result.status("DECRYPTION_INFO")
    if info and info[0][:1] == ["0"] and (len(info[0]) < 3 or info[0][2] == "0"):
        return (
            "the file has no integrity protection (no MDC): it could have been changed "
            "undetectably, so it is refused; re-encrypt it with a current PGP tool"
        )
    if opened or result.has("BADMDC"):
        return "the file fails its integrity check (tampered or corrupt)"
    if result.has("NODATA") or "no valid openpgp data" in lower:
        return "the file is not PGP-encrypted data"
    failed = [line for line in text.splitlines() if line.startswith("gpg:")]
    return f"decryption failed ({(failed[-1][5:] if failed else 'unknown error').strip()})"


def _held_key_ids(gpg: gnupg.GPG) -> list[str]:
    """The long key ids of the imported key's encryption (sub)keys."""
    ids = []
    for key in gpg.list_keys(secret=True):
        subkeys = [s[0] for s in key.get("subkeys", []) if "e" in str(s[1]).lower()]
        ids += subkeys or [key["keyid"]]
    return ids
