"""Credentials against a moto server that checks keys and policies, like AWS does."""

import json

import pytest

from credentials.services import credential_create, credential_test

pytestmark = pytest.mark.django_db
BUCKET = "auth-test-bucket"


@pytest.fixture(scope="module")
def moto(auth_moto):
    auth_moto.setup(lambda: auth_moto.client("s3").create_bucket(Bucket=BUCKET))
    return auth_moto


def iam(moto, name: str, keys: dict[str, str]):
    return credential_create(name=name, kind="iam-credential", endpoint_url=moto.url, **keys)


def test_keys_of_a_permitted_user_connect(moto):
    keys = moto.user("reader", ["s3:ListBucket", "s3:GetObject", "s3:ListAllMyBuckets"])
    result = credential_test(credential=iam(moto, "Reader", keys), bucket=BUCKET)
    assert (result.ok, result.message) == (True, "Connection successful")


def test_an_unknown_access_key_is_invalid_credentials(moto):
    keys = {"access_key_id": "AKIAMADEUPKEY0000000", "secret_access_key": "made-up-secret"}
    result = credential_test(credential=iam(moto, "Made up", keys), bucket=BUCKET)
    assert (result.ok, result.problem) == (False, "invalid_credentials")
    assert result.message.startswith("Invalid credentials")


def test_a_wrong_secret_is_invalid_credentials(moto):
    keys = moto.user("typo", ["s3:*"])
    keys["secret_access_key"] = "not-the-secret-" + keys["secret_access_key"][:8]
    result = credential_test(credential=iam(moto, "Typo", keys), bucket=BUCKET)
    assert (result.ok, result.problem) == (False, "invalid_credentials")
    assert "secret access key" in result.message


def test_a_user_without_permission_is_access_denied(moto):
    keys = moto.user("nobody", [])
    result = credential_test(credential=iam(moto, "Nobody", keys), bucket=BUCKET)
    assert (result.ok, result.problem) == (False, "access_denied")
    assert f"Access denied to “{BUCKET}”" in result.message


def test_a_role_assumed_with_permission_connects(moto):
    def make_role():
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
            ],
        }
        iam_api = moto.client("iam")
        arn = iam_api.create_role(
            RoleName="heap-reader", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        iam_api.put_role_policy(
            RoleName="heap-reader",
            PolicyName="read",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        return arn

    arn = moto.setup(make_role)
    base = iam(moto, "Assumer", moto.user("assumer", ["sts:AssumeRole"]))
    role = credential_create(
        name="Heap role",
        kind="iam-role-to-role",
        role_arn=arn,
        external_id="heap-external-id",
        base_credential=base,
    )
    result = credential_test(credential=role, bucket=BUCKET)
    assert (result.ok, result.message) == (True, "Connection successful"), result

    refused = credential_create(
        name="Refused role",
        kind="iam-role-to-role",
        role_arn=arn,
        external_id="heap-external-id",
        base_credential=iam(moto, "Not allowed", moto.user("cannot-assume", ["s3:ListBucket"])),
    )
    result = credential_test(credential=refused, bucket=BUCKET)
    assert (result.ok, result.problem) == (False, "role_not_assumed")
    assert "cannot be assumed" in result.message and "external ID" in result.suggestion
