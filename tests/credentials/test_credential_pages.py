"""The credentials pages: list, add (with ?next=), edit (write-only secrets), test, delete."""

import logging

import pytest
from django.urls import reverse

from credentials.models import Credential
from credentials.services import credential_create, credential_secrets

pytestmark = pytest.mark.django_db


@pytest.fixture
def s3_credential(s3_endpoint, secret_key):
    return credential_create(
        name="Heap export",
        kind="iam-credential",
        access_key_id="AKIAHEAPEXPORTWXYZ",
        secret_access_key=secret_key,
        endpoint_url=s3_endpoint,
    )


@pytest.fixture
def pgp_credential(pgp_key):
    return credential_create(
        name="Decrypt",
        kind="pgp",
        private_key=pgp_key["private_key"],
        passphrase=pgp_key["passphrase"],
    )


def test_the_list_shows_type_hint_endpoint_and_use(analyst_client, s3_credential):
    body = analyst_client.get(reverse("credentials:list")).content.decode()
    for text in ("Heap export", "IAM credential (access key)", "…WXYZ", s3_credential.endpoint_url):
        assert text in body
    assert "0 couriers" in body
    assert reverse("credentials:test", args=[s3_credential.pk]) in body


def test_adding_an_iam_credential(analyst_client, secret_key):
    response = analyst_client.post(
        reverse("credentials:add"),
        {
            "name": "New",
            "kind": "iam-credential",
            "access_key_id": "AKIA1234",
            "secret_access_key": secret_key,
        },
    )
    credential = Credential.objects.get(name="New")
    assert response.status_code == 302
    assert response["Location"] == reverse("credentials:edit", args=[credential.pk])
    assert credential_secrets(credential)["secret_access_key"] == secret_key


def test_missing_fields_are_named_next_to_the_field(analyst_client):
    response = analyst_client.post(
        reverse("credentials:add"),
        {"name": "Role", "kind": "iam-role-to-role", "role_arn": "nope", "external_id": "a b"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The role ARN should look like arn:aws:iam::123456789012:role/RoleName." in body
    assert "The external ID must be 2–1224 characters" in body
    assert not Credential.objects.filter(name="Role").exists()


def test_next_returns_to_the_wizard_with_the_new_credential(analyst_client, secret_key):
    wizard = "/couriers/add/?step=credential"
    url = reverse("credentials:add") + "?next=" + "/couriers/add/%3Fstep%3Dcredential"
    page = analyst_client.get(url).content.decode()
    assert 'name="next" value="/couriers/add/?step=credential"' in page
    response = analyst_client.post(
        url,
        {
            "name": "Wizard made",
            "kind": "iam-credential",
            "access_key_id": "AKIA1234",
            "secret_access_key": secret_key,
            "next": wizard,
        },
    )
    pk = Credential.objects.get(name="Wizard made").pk
    assert response["Location"] == f"{wizard}&credential={pk}"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_next_to_another_site_is_ignored(analyst_client, secret_key, target):
    response = analyst_client.post(
        reverse("credentials:add"),
        {
            "name": "N",
            "kind": "iam-credential",
            "access_key_id": "AKIA1234",
            "secret_access_key": secret_key,
            "next": target,
        },
    )
    assert response["Location"] == reverse(
        "credentials:edit", args=[Credential.objects.get(name="N").pk]
    )


def test_the_edit_page_never_shows_a_secret_and_blank_keeps_it(
    analyst_client, s3_credential, secret_key
):
    url = reverse("credentials:edit", args=[s3_credential.pk])
    body = analyst_client.get(url).content.decode()
    assert secret_key not in body and "AKIAHEAPEXPORTWXYZ" not in body
    assert "Stored key ends in …WXYZ" in body
    response = analyst_client.post(
        url,
        {
            "name": "Heap export",
            "access_key_id": "",
            "secret_access_key": "",
            "endpoint_url": s3_credential.endpoint_url,
            "region": "eu-west-1",
        },
    )
    assert response.status_code == 302
    s3_credential.refresh_from_db()
    assert s3_credential.region == "eu-west-1"
    assert credential_secrets(s3_credential)["secret_access_key"] == secret_key


def test_the_test_button_answers_in_place(analyst_client, s3_credential, bucket):
    url = reverse("credentials:test", args=[s3_credential.pk])
    body = analyst_client.post(url, {"bucket": bucket}, HTTP_HX_REQUEST="true").content.decode()
    assert "Connection successful" in body and "<html" not in body
    body = analyst_client.post(
        url, {"bucket": "missing-bucket-x"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No such bucket" in body
    assert analyst_client.get(url).status_code == 405


def test_delete_asks_first_and_refuses_while_in_use(analyst_client, s3_credential):
    credential_create(
        name="Role",
        kind="iam-role-to-role",
        role_arn="arn:aws:iam::123456789012:role/r",
        external_id="ext-1",
        base_credential=s3_credential,
    )
    url = reverse("credentials:delete", args=[s3_credential.pk])
    assert "credential “Role”" in analyst_client.get(url).content.decode()
    response = analyst_client.post(url)
    assert response.status_code == 409
    assert "cannot be deleted" in response.content.decode()
    Credential.objects.filter(name="Role").delete()
    assert analyst_client.post(url).status_code == 302
    assert not Credential.objects.filter(pk=s3_credential.pk).exists()


def test_unknown_credentials_are_404(analyst_client):
    assert analyst_client.get(reverse("credentials:edit", args=[999])).status_code == 404


def test_no_page_and_no_log_line_holds_a_secret(
    analyst_client,
    s3_credential,
    pgp_credential,
    secret_key,
    passphrase,
    bucket,
    closed_port_endpoint,
    caplog,
):
    caplog.set_level(logging.DEBUG)
    for name in ("botocore", "boto3", "urllib3", "gnupg", "credentials", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    broken = credential_create(
        name="Unreachable",
        kind="iam-credential",
        access_key_id="AKIABROKEN",
        secret_access_key=secret_key,
        endpoint_url=closed_port_endpoint,
    )
    role = credential_create(
        name="Role",
        kind="iam-role-to-role",
        role_arn="arn:aws:iam::123456789012:role/r",
        external_id="ext-1",
        base_credential=s3_credential,
    )
    bodies = [analyst_client.get(reverse("credentials:list")).content]
    for credential in (s3_credential, pgp_credential, broken, role):
        bodies.append(analyst_client.get(reverse("credentials:edit", args=[credential.pk])).content)
        for data in (
            {},
            {"bucket": bucket},
            {"bucket": "no-such-bucket-q"},
            {"bucket": "Bad_Name"},
        ):
            test = reverse("credentials:test", args=[credential.pk])
            bodies.append(analyst_client.post(test, data, HTTP_HX_REQUEST="true").content)
    wrong = credential_create(
        name="Wrong",
        kind="pgp",
        private_key=pgp_credential_key(pgp_credential),
        passphrase=passphrase + "x",
    )
    bodies.append(
        analyst_client.post(
            reverse("credentials:test", args=[wrong.pk]), HTTP_HX_REQUEST="true"
        ).content
    )
    # An error page: the edit form sent back with a bad value.
    bodies.append(
        analyst_client.post(
            reverse("credentials:edit", args=[s3_credential.pk]),
            {"name": "Heap export", "secret_access_key": secret_key, "endpoint_url": "not a url"},
        ).content
    )
    text = b"\n".join(bodies).decode()
    assert "Connection successful" in text and "could not be reached" in text  # the flow ran
    assert "passphrase does not unlock" in text and "could not be reached" in text
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert len(caplog.records) > 10  # botocore logged at DEBUG, so the check means something
    for secret in (secret_key, passphrase):
        assert secret not in text
        assert secret not in logs


def pgp_credential_key(credential):
    return credential_secrets(credential)["private_key"]
