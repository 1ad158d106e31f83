"""Secrets at rest: encrypted in the database, write-only on edit, rotatable."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import connection

from credentials.models import Credential
from credentials.services import (
    credential_create,
    credential_delete,
    credential_secrets,
    credential_update,
)

pytestmark = pytest.mark.django_db
# The values conftest's secret_key / passphrase fixtures hold.
SECRET_KEY = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzEXAMPLEKEY"
PASSPHRASE = "tr0ub4dor-and-3"


def raw_row(pk: int) -> str:
    """Every column of the row as the database stores it, joined."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM credentials_credential WHERE id = %s", [pk])
        return " ".join(str(v) for v in cursor.fetchone())


def make_iam(name="Heap bucket", **extra) -> Credential:
    return credential_create(
        name=name,
        kind="iam-credential",
        access_key_id="AKIAEXAMPLEWXYZ",
        secret_access_key=SECRET_KEY,
        **extra,
    )


def test_the_database_holds_no_plaintext_secret():
    credential = make_iam()
    pgp = credential_create(
        name="Decrypt",
        kind="pgp",
        private_key="-----BEGIN PGP PRIVATE KEY BLOCK-----\nabc\n-----END PGP PRIVATE KEY BLOCK-----",
        passphrase=PASSPHRASE,
    )
    row = raw_row(credential.pk)
    assert SECRET_KEY not in row and "AKIAEXAMPLEWXYZ" not in row
    assert "WXYZ" in row  # only the hint, so a user can tell keys apart
    assert PASSPHRASE not in raw_row(pgp.pk) and "abc" not in raw_row(pgp.pk)
    assert credential_secrets(Credential.objects.get(pk=credential.pk))["secret_access_key"] == (
        SECRET_KEY
    )


def test_a_blank_secret_keeps_the_stored_one():
    credential = make_iam(region="eu-west-1")
    credential_update(credential=credential, name="Renamed", access_key_id="", secret_access_key="")
    credential.refresh_from_db()
    assert credential.name == "Renamed" and credential.region == "eu-west-1"
    assert credential_secrets(credential)["secret_access_key"] == SECRET_KEY
    credential_update(credential=credential, secret_access_key="new-secret-value")
    credential.refresh_from_db()
    assert credential_secrets(credential) == {
        "access_key_id": "AKIAEXAMPLEWXYZ",
        "secret_access_key": "new-secret-value",
    }


def test_rotation_keeps_old_secrets_readable_then_needs_only_the_new_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SOURCES_SECRET_KEYS = old
    credential = make_iam()
    settings.SOURCES_SECRET_KEYS = f"{new},{old}"  # the new key first: old tokens still decrypt
    assert credential_secrets(credential)["secret_access_key"] == SECRET_KEY
    call_command("rotate_secrets")
    settings.SOURCES_SECRET_KEYS = new
    credential.refresh_from_db()
    assert credential_secrets(credential)["secret_access_key"] == SECRET_KEY
    settings.SOURCES_SECRET_KEYS = old  # the old key alone no longer opens the rotated token
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        credential_secrets(credential)


@pytest.mark.parametrize(
    "kind, fields, field, words",
    [
        ("iam-credential", {"access_key_id": "AKIA1"}, "secret_access_key", "is required"),
        (
            "iam-role-to-role",
            {"role_arn": "arn:aws:iam::123456789012:role/R", "external_id": "x"},
            "external_id",
            "2–1224 characters",
        ),
        (
            "iam-role-to-role",
            {"role_arn": "arn:aws:iam::123456789012:role/R", "external_id": "no spaces"},
            "external_id",
            "2–1224 characters",
        ),
        ("iam-role-to-role", {"role_arn": "my-role", "external_id": "ab"}, "role_arn", "ARN"),
        ("pgp", {"private_key": "hello"}, "private_key", "ASCII-armored"),
        (
            "iam-credential",
            {"access_key_id": "A1B2C", "secret_access_key": "s", "endpoint_url": "minio:9000"},
            "endpoint_url",
            "http://",
        ),
    ],
)
def test_bad_fields_are_named_with_what_to_fix(kind, fields, field, words):
    with pytest.raises(ValidationError) as caught:
        credential_create(name="x", kind=kind, **fields)
    assert words in " ".join(caught.value.message_dict[field])


def test_external_id_accepts_the_full_character_set():
    credential = credential_create(
        name="Role",
        kind="iam-role-to-role",
        role_arn="arn:aws:iam::123456789012:role/heap-reader",
        external_id="Az09+=,.@:/-" * 100,
    )
    assert len(credential_secrets(credential)["external_id"]) == 1200


def test_a_credential_in_use_is_not_deleted():
    base = make_iam()
    credential_create(
        name="Role on top",
        kind="iam-role-to-role",
        role_arn="arn:aws:iam::123456789012:role/r",
        external_id="ext-id",
        base_credential=base,
    )
    with pytest.raises(ValidationError, match="used by credential “Role on top”"):
        credential_delete(credential=base)
    assert Credential.objects.filter(pk=base.pk).exists()


def test_duplicate_names_are_refused():
    make_iam()
    with pytest.raises(ValidationError, match="already exists"):
        make_iam()
