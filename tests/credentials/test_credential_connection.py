"""The connection test against real endpoints: moto over HTTP, a closed port, real gpg."""

import pytest

from credentials.services import credential_create, credential_test

pytestmark = pytest.mark.django_db


def iam(endpoint: str, name="S3", access_key="test", secret="test-secret"):
    return credential_create(
        name=name,
        kind="iam-credential",
        access_key_id=access_key,
        secret_access_key=secret,
        endpoint_url=endpoint,
        region="us-east-1",
    )


def test_a_good_credential_connects(s3_endpoint, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exports/users.csv", Body=b"id\n1\n")
    credential = iam(s3_endpoint)
    assert credential_test(credential=credential).message == "Connection successful"
    result = credential_test(credential=credential, bucket=bucket, prefix="exports/")
    assert (result.ok, result.message, result.problem) == (True, "Connection successful", None)


def test_a_missing_bucket_is_named(s3_endpoint):
    result = credential_test(credential=iam(s3_endpoint), bucket="no-such-bucket-here")
    assert not result.ok and result.problem == "no_such_bucket"
    assert "No such bucket" in result.message and "no-such-bucket-here" in result.message


@pytest.mark.parametrize("name", ["Bad_Bucket", "ab", "-leading-hyphen", "x" * 64])
def test_an_invalid_bucket_name_is_named(s3_endpoint, name):
    result = credential_test(credential=iam(s3_endpoint), bucket=name)
    assert not result.ok and result.problem == "invalid_bucket_name"
    assert "Invalid bucket name" in result.message


def test_an_unreachable_endpoint_is_named(closed_port_endpoint):
    result = credential_test(credential=iam(closed_port_endpoint), bucket="anything")
    assert not result.ok and result.problem == "endpoint_unreachable"
    assert "could not be reached" in result.message and "endpoint URL" in result.suggestion


def test_a_role_is_assumed_through_sts(s3_endpoint, bucket):
    base = iam(s3_endpoint, name="Base")
    role = credential_create(
        name="Role",
        kind="iam-role-to-role",
        role_arn="arn:aws:iam::123456789012:role/heap-reader",
        external_id="heap-ext-id-123",
        base_credential=base,
    )
    result = credential_test(credential=role, bucket=bucket)
    assert result.ok, result


def test_a_pgp_key_is_checked_with_its_passphrase(pgp_key):
    good = credential_create(
        name="PGP", kind="pgp", private_key=pgp_key["private_key"], passphrase=pgp_key["passphrase"]
    )
    assert credential_test(credential=good).message == "Connection successful"
    wrong = credential_create(
        name="PGP wrong", kind="pgp", private_key=pgp_key["private_key"], passphrase="not-it"
    )
    result = credential_test(credential=wrong)
    assert (result.ok, result.problem) == (False, "pgp_bad_passphrase")
    assert "passphrase does not unlock" in result.message
    missing = credential_create(name="PGP none", kind="pgp", private_key=pgp_key["private_key"])
    assert credential_test(credential=missing).problem == "pgp_bad_passphrase"


def test_a_pgp_credential_must_hold_a_private_key(pgp_key):
    garbled = pgp_key["private_key"].replace(
        "PGP PRIVATE KEY BLOCK-----\n", "PGP PRIVATE KEY BLOCK-----\nzz", 1
    )
    credential = credential_create(
        name="Bad key",
        kind="pgp",
        private_key=garbled[:200] + "\n-----END PGP PRIVATE KEY BLOCK-----",
    )
    result = credential_test(credential=credential)
    assert (result.ok, result.problem) == (False, "pgp_invalid_key")
    assert "cannot be read" in result.message
