"""PGP decryption that works: keys with and without passphrases, armored and binary messages,
compressed or not; each failure says what it is, and a file that fails its integrity check
gives nothing (not even the plaintext gpg wrote before it noticed)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from amperity_sources.gpg import write_agent_conf
from credentials.pgp import pgp_key_check
from feeds.readers import ReaderError, decrypt_pgp

pytestmark = pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is not installed")

PLAIN = b"id,name\n" + b"".join(b"%d,Ann %d\n" % (i, i) for i in range(5000))


class Keys:
    """A gpg home with three keys: "ours" (passphrase s3cret), "nopass" and "other"."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.secret: dict[str, str] = {}
        self.key_id: dict[str, str] = {}  # the encryption subkey's long key id

    def gpg(self, *args: str, data: bytes = b"") -> bytes:
        done = subprocess.run(
            ["gpg", "--homedir", str(self.home), "--batch", "--yes", "--trust-model", "always",
             "--pinentry-mode", "loopback", *args],
            input=data, capture_output=True, check=True,
        )  # fmt: skip
        return done.stdout

    def make(self, label: str, passphrase: str) -> None:
        email = f"{label}@example.com"
        self.gpg("--passphrase", passphrase, "--quick-gen-key", email, "ed25519", "sign", "never")
        fpr = self._colons("--list-keys", email, kind="fpr")[0][9]
        self.gpg("--passphrase", passphrase, "--quick-add-key", fpr, "cv25519", "encr", "never")
        self.key_id[label] = self._colons("--list-keys", email, kind="sub")[0][4]
        self.secret[label] = self.gpg(
            "--passphrase", passphrase, "--armor", "--export-secret-keys", email
        ).decode()

    def _colons(self, *args: str, kind: str) -> list[list[str]]:
        out = self.gpg("--with-colons", *args).decode()
        return [line.split(":") for line in out.splitlines() if line.startswith(f"{kind}:")]

    def encrypt(self, label: str, *options: str, data: bytes = PLAIN) -> bytes:
        return self.gpg("--encrypt", "--recipient", f"{label}@example.com", *options, data=data)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    home = tmp_path_factory.mktemp("gpg")
    home.chmod(0o700)
    write_agent_conf(str(home))
    keys = Keys(home)
    keys.make("ours", "s3cret")
    keys.make("nopass", "")
    keys.make("other", "other")
    yield keys
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False)


def flip(data: bytes, at: float = 0.5) -> bytes:
    changed = bytearray(data)
    changed[int(len(changed) * at)] ^= 0x40
    return bytes(changed)


@pytest.mark.parametrize("label,passphrase", [("ours", "s3cret"), ("nopass", None), ("nopass", "")])
@pytest.mark.parametrize("options", [(), ("--armor",), ("-z", "0"), ("--armor", "-z", "9")])
def test_decrypts_with_and_without_passphrase_armored_or_binary(keys, label, passphrase, options):
    message = keys.encrypt(label, *options)
    plain = decrypt_pgp(io.BytesIO(message), keys.secret[label], passphrase, name="people.csv.pgp")
    assert plain.read() == PLAIN


def test_a_passphrase_given_for_a_key_without_one_is_not_mixed_into_the_data(keys):
    message = keys.encrypt("nopass")
    assert decrypt_pgp(io.BytesIO(message), keys.secret["nopass"], "unused").read() == PLAIN


def test_a_key_without_passphrase_passes_the_credential_check(keys):
    assert pgp_key_check(keys.secret["nopass"], "") is None
    assert pgp_key_check(keys.secret["nopass"], "unused") is None
    assert pgp_key_check(keys.secret["ours"], "s3cret") is None
    assert pgp_key_check(keys.secret["ours"], "").code == "pgp_bad_passphrase"


def refused(keys, message: bytes, label: str = "ours", passphrase: str | None = "s3cret") -> str:
    with pytest.raises(ReaderError) as error:
        decrypt_pgp(io.BytesIO(message), keys.secret[label], passphrase, name="people.csv.pgp")
    return str(error.value)


def test_a_wrong_key_names_both_key_ids(keys):
    message = refused(keys, keys.encrypt("other"))
    assert message == (
        f"people.csv.pgp: PGP error: the file was encrypted for a different key: key id "
        f"{keys.key_id['other']}; the credential holds key {keys.key_id['ours']}"
    )


def test_a_bad_or_missing_passphrase_says_so(keys):
    message = keys.encrypt("ours")
    assert refused(keys, message, passphrase="wrong") == (
        "people.csv.pgp: PGP error: the passphrase does not unlock the credential's private key"
    )
    assert "needs a passphrase" in refused(keys, message, passphrase=None)


@pytest.mark.parametrize("options", [("-z", "0"), ()], ids=["uncompressed", "compressed"])
def test_a_tampered_file_fails_its_integrity_check_and_gives_nothing(
    keys, options, tmp_path, monkeypatch
):
    tampered = flip(keys.encrypt("ours", *options))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where gpg's plaintext would stay
    message = refused(keys, tampered)
    assert message == (
        "people.csv.pgp: PGP error: the file fails its integrity check (tampered or corrupt)"
    )
    assert list(tmp_path.iterdir()) == []  # no plaintext left behind


def test_a_file_without_integrity_protection_is_refused(keys):
    old_style = keys.encrypt("ours", "--rfc2440", "-z", "0")
    assert refused(keys, old_style) == (
        "people.csv.pgp: PGP error: the file has no integrity protection (no MDC): it could "
        "have been changed undetectably, so it is refused; re-encrypt it with a current PGP tool"
    )


def test_damaged_armor_is_its_own_error(keys):
    armored = keys.encrypt("ours", "--armor").decode().splitlines()
    middle = len(armored) // 2
    armored[middle] = "A" * 10 + armored[middle][10:] if armored[middle][:10] != "A" * 10 else ""
    damaged = ("\n".join(armored) + "\n").encode()
    assert refused(keys, damaged) == "people.csv.pgp: PGP error: the ASCII armor is damaged"


def test_data_that_is_not_pgp_says_so(keys):
    assert refused(keys, PLAIN) == "people.csv.pgp: PGP error: the file is not PGP-encrypted data"


def test_a_plaintext_over_the_limit_is_refused(keys, settings):
    settings.SOURCES_MAX_DECOMPRESSED_BYTES = 64 * 1024
    assert refused(keys, keys.encrypt("ours")) == (
        "people.csv.pgp: PGP error: decrypts to more than 64 KiB "
        "(setting SOURCES_MAX_DECOMPRESSED_BYTES)"
    )
