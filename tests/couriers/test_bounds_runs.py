"""Bombs, hostile archives and bad PGP files in real courier runs: each run fails with a message
that names the file and the problem (and the setting), never "Unexpected error", and the domain
table is left exactly as it was."""

from __future__ import annotations

import gzip
import shutil
import uuid

import pytest

from couriers.models import Courier, CourierRun
from credentials.services import credential_create
from tests.bad_archives import (
    encrypted_member_zip,
    gzip_bomb,
    lying_size_zip,
    many_members_zip,
    zip_bomb,
    zip_of,
)
from tests.factories import domain_rows, make_feed
from tests.factories import run_here as run_in_process

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
GOOD = b"id,name\n1,Ann\n2,Bob\n"
CSV_LAND_AS = {"file/tag": "people", "file/content-type": "text/csv", "file/header-rows": 1}


@pytest.fixture
def feed():
    return make_feed(f"B{uuid.uuid4().hex[:6]}", "People", [("id", "integer"), ("name", "string")],
                     ["id"])  # fmt: skip


def file_courier(s3_credential, bucket, feed, key: str, pgp=None) -> Courier:
    entity = {"object/type": "file", "object/file-pattern": f"'{key}'",
              "object/land-as": CSV_LAND_AS}  # fmt: skip
    return Courier.objects.create(
        name=f"C{uuid.uuid4().hex[:6]}", credential=s3_credential, bucket=bucket,
        entities=[entity], load_operations={feed.pk: [{"type": "load", "file": "people"}]},
        pgp_credential=pgp,
    )  # fmt: skip


def archive_courier(s3_credential, bucket, feed, key: str) -> Courier:
    entity = {"object/type": "archive", "object/file-pattern": f"'{key}'",
              "archive/contents": {"*.csv": {"subobject/land-as": CSV_LAND_AS}}}  # fmt: skip
    return Courier.objects.create(
        name=f"C{uuid.uuid4().hex[:6]}", credential=s3_credential, bucket=bucket,
        entities=[entity], load_operations={feed.pk: [{"type": "load", "file": "people"}]},
    )  # fmt: skip


def loaded_first(s3, bucket, courier) -> list[dict]:
    """The table after a good load, to compare with after the bad one."""
    run = run_here(courier)
    assert run.status == "succeeded", run.error
    return domain_rows(courier_feed(courier))


def run_here(courier, **kwargs):
    return run_in_process(courier, mode=CourierRun.Mode.ALL, **kwargs)


def courier_feed(courier):
    from feeds.models import Feed

    return Feed.objects.get(pk=next(iter(courier.load_operations)))


def failed(run) -> str:
    assert run.status == "failed", run.error
    assert "Unexpected error" not in run.error
    return run.error


def test_a_gzip_bomb_run_fails_naming_file_and_setting(s3, bucket, s3_credential, feed):
    courier = file_courier(s3_credential, bucket, feed, "drop/export.csv.gz")
    s3.put_object(Bucket=bucket, Key="drop/export.csv.gz", Body=gzip.compress(GOOD))
    before = loaded_first(s3, bucket, courier)
    s3.put_object(Bucket=bucket, Key="drop/export.csv.gz", Body=gzip_bomb(64 * MiB))
    message = failed(run_here(courier, reload=True))
    assert "drop/export.csv.gz: decompresses to more than 100 times" in message
    assert "SOURCES_MAX_COMPRESSION_RATIO" in message
    assert domain_rows(feed) == before


def test_a_zip_bomb_run_fails_naming_archive_member_and_setting(s3, bucket, s3_credential, feed):
    s3.put_object(Bucket=bucket, Key="drop/export.zip", Body=zip_bomb(64 * MiB))
    message = failed(run_here(archive_courier(s3_credential, bucket, feed, "drop/export.zip")))
    assert "drop/export.zip: member data.csv decompresses to more than 100 times" in message
    assert "SOURCES_MAX_COMPRESSION_RATIO" in message
    assert domain_rows(feed) == []


def test_too_many_members_fail_the_run_at_landing(s3, bucket, s3_credential, feed, settings):
    settings.SOURCES_MAX_ARCHIVE_MEMBERS = 20
    s3.put_object(Bucket=bucket, Key="drop/parts.zip", Body=many_members_zip(21))
    message = failed(run_here(archive_courier(s3_credential, bucket, feed, "drop/parts.zip")))
    assert "drop/parts.zip: the archive holds more than 20 files (setting " \
        "SOURCES_MAX_ARCHIVE_MEMBERS)" in message  # fmt: skip


@pytest.mark.parametrize(
    ("archive", "expected"),
    [
        (encrypted_member_zip, "member data.csv is encrypted: not supported"),
        (lying_size_zip, "member data.csv is corrupt: its size does not match its header"),
        (lambda: zip_of({"ok.csv": GOOD, "../evil.csv": GOOD}),
         'member "../evil.csv" has a path outside the archive (..): refused'),
    ],
)  # fmt: skip
def test_unreadable_members_fail_the_run_with_their_problem(
    s3, bucket, s3_credential, feed, archive, expected
):
    s3.put_object(Bucket=bucket, Key="drop/export.zip", Body=archive())
    message = failed(run_here(archive_courier(s3_credential, bucket, feed, "drop/export.zip")))
    assert f"drop/export.zip: {expected}" in message
    assert domain_rows(feed) == []


@pytest.mark.skipif(not shutil.which("gpg"), reason="gpg is not installed")
def test_pgp_without_passphrase_loads_and_a_tampered_file_loads_nothing(
    s3, bucket, s3_credential, feed, tmp_path
):
    import gnupg

    gpg = gnupg.GPG(gnupghome=str(tmp_path))
    key = gpg.gen_key(gpg.gen_key_input(
        key_type="EDDSA", key_curve="ed25519", subkey_type="ECDH", subkey_curve="cv25519",
        name_email="run@example.com", no_protection=True,
    ))  # fmt: skip
    pgp = credential_create(
        name=f"PGP {uuid.uuid4().hex[:6]}", kind="pgp",
        private_key=gpg.export_keys(key.fingerprint, secret=True, expect_passphrase=False),
    )  # fmt: skip
    courier = file_courier(s3_credential, bucket, feed, "enc/people.csv.pgp", pgp=pgp)
    sealed = gpg.encrypt(GOOD, key.fingerprint, always_trust=True, armor=False).data
    s3.put_object(Bucket=bucket, Key="enc/people.csv.pgp", Body=sealed)
    before = loaded_first(s3, bucket, courier)
    assert [(r["id"], r["name"]) for r in before] == [(1, "Ann"), (2, "Bob")]

    bigger = b"id,name\n" + b"".join(b"%d,Eve\n" % i for i in range(3, 3000))
    sealed = bytearray(
        gpg.encrypt(bigger, key.fingerprint, always_trust=True, armor=False,
                    extra_args=["-z", "0"]).data
    )  # fmt: skip
    sealed[len(sealed) // 2] ^= 0x40
    s3.put_object(Bucket=bucket, Key="enc/people.csv.pgp", Body=bytes(sealed))
    message = failed(run_here(courier, reload=True))
    assert "enc/people.csv.pgp: PGP error: the file fails its integrity check" in message
    assert domain_rows(feed) == before
