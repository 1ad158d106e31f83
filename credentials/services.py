"""Credentials: the one place that builds boto3 sessions and S3 clients."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import transaction

from amperity_sources.netguard import AddressNotAllowed, check_url

from . import errors
from .crypto import decrypt_secrets, encrypt_secrets, rotate
from .models import Credential
from .pgp import pgp_key_check
from .validation import (
    KIND_FIELDS,
    PLAIN_FIELDS,
    SECRET_FIELDS,
    bucket_name_problem,
    credential_errors,
)

logger = logging.getLogger(__name__)

# Retries with backoff for transient S3 errors (throttling, 5xx, resets).
S3_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "adaptive"},
    connect_timeout=10,
    read_timeout=60,
    s3={"addressing_style": "path"},
)


def credential_secrets(credential: Credential) -> dict[str, str]:
    return decrypt_secrets(credential.secrets_encrypted)


def credential_set_secrets(credential: Credential, values: dict[str, str]) -> None:
    """Merge new secret values; blank values keep what is stored (forms are write-only)."""
    current = credential_secrets(credential)
    current.update({k: v for k, v in values.items() if v})
    credential.secrets_encrypted = encrypt_secrets(current)
    access_key = current.get("access_key_id", "")
    credential.key_hint = access_key[-4:] if access_key else ""


def boto_session(credential: Credential, *, config: Config = S3_CONFIG) -> boto3.Session:
    """An IAM credential's keys, or a role assumed through STS on top of a base credential."""
    if credential.kind == Credential.Kind.IAM:
        secrets = credential_secrets(credential)
        return boto3.Session(
            aws_access_key_id=secrets.get("access_key_id"),
            aws_secret_access_key=secrets.get("secret_access_key"),
            region_name=credential.region or "us-east-1",
        )
    if credential.kind == Credential.Kind.ROLE:
        base_credential = credential.base_credential
        base = (
            boto_session(base_credential, config=config)
            if base_credential is not None
            else boto3.Session(region_name=credential.region or "us-east-1")
        )
        sts = base.client("sts", endpoint_url=_endpoint(credential) or None, config=config)
        secrets = credential_secrets(credential)
        assumed = sts.assume_role(
            RoleArn=credential.role_arn,
            RoleSessionName="amperity-sources",
            ExternalId=secrets.get("external_id") or None,
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=assumed["AccessKeyId"],
            aws_secret_access_key=assumed["SecretAccessKey"],
            aws_session_token=assumed["SessionToken"],
            region_name=credential.region or "us-east-1",
        )
    raise ValueError(f"{credential.get_kind_display()} credentials cannot reach S3")


def _endpoint(credential: Credential) -> str:
    if credential.endpoint_url:
        return credential.endpoint_url
    if credential.kind == Credential.Kind.ROLE and credential.base_credential is not None:
        return _endpoint(credential.base_credential)
    return ""


def s3_client(credential: Credential, *, config: Config = S3_CONFIG):
    endpoint = _endpoint(credential)
    if endpoint:
        try:
            check_url(endpoint)  # before any connection: a refused address learns nothing
        except AddressNotAllowed as exc:
            raise errors.EndpointNotAllowed(message=str(exc)) from None
    return boto_session(credential, config=config).client(
        "s3", endpoint_url=endpoint or None, config=config
    )


# ---------------------------------------------------------------- create, update, delete
def credential_create(*, name: str, kind: str, **fields) -> Credential:
    """Validate and save a new credential; `fields` are the plain and secret fields of its kind."""
    credential = Credential(kind=kind)
    _apply(credential, name=name, kind=kind, fields=fields, stored={})
    return credential


def credential_update(*, credential: Credential, **fields) -> Credential:
    """Change some fields; a blank secret keeps the stored value. The type cannot change."""
    name = fields.pop("name", credential.name)
    fields.pop("kind", None)
    current = {f: getattr(credential, f) for f in PLAIN_FIELDS}
    current.update(fields)
    stored = credential_secrets(credential)
    _apply(credential, name=name, kind=credential.kind, fields=current, stored=stored)
    return credential


def _apply(credential: Credential, *, name: str, kind: str, fields: dict, stored: dict) -> None:
    unknown = set(fields) - set(SECRET_FIELDS) - set(PLAIN_FIELDS)
    if unknown:
        raise TypeError(f"unknown credential fields: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {
        k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()
    }
    errors = credential_errors(
        credential=credential if credential.pk else None,
        name=name,
        kind=kind,
        values=values,
        stored_secrets=stored,
    )
    if errors:
        raise ValidationError(errors)
    own = KIND_FIELDS[Credential.Kind(kind)]
    credential.name = name.strip()
    credential.kind = kind
    credential.role_arn = values.get("role_arn", "") if "role_arn" in own else ""
    credential.base_credential = values.get("base_credential") if "base_credential" in own else None
    credential.region = values.get("region", "") if "region" in own else ""
    credential.endpoint_url = values.get("endpoint_url", "") if "endpoint_url" in own else ""
    kept = {k: v for k, v in stored.items() if k in own}
    credential.secrets_encrypted = encrypt_secrets(kept) if kept else ""
    credential_set_secrets(credential, {k: values.get(k, "") for k in SECRET_FIELDS if k in own})
    credential.save()
    logger.info("credential %s saved (%s)", credential.name, credential.kind)


def credential_users(credential: Credential) -> list[str]:
    """Names of what depends on this credential: couriers, and roles built on top of it."""
    names = [f"courier “{c.name}”" for c in credential.couriers.all()]
    names += [f"courier “{c.name}” (PGP)" for c in credential.pgp_couriers.all()]
    names += [
        f"credential “{c.name}”" for c in Credential.objects.filter(base_credential=credential)
    ]
    return names


def credential_delete(*, credential: Credential) -> None:
    users = credential_users(credential)
    if users:
        raise ValidationError(
            f"“{credential.name}” cannot be deleted: it is used by {', '.join(users)}. "
            "Point them at another credential first."
        )
    credential.delete()
    logger.info("credential %s deleted", credential.name)


def credential_rotate_all() -> int:
    """Re-encrypt every credential's secrets with the newest key; returns how many."""
    count = 0
    with transaction.atomic():
        for credential in Credential.objects.select_for_update().exclude(secrets_encrypted=""):
            credential.secrets_encrypted = rotate(credential.secrets_encrypted)
            credential.save(update_fields=["secrets_encrypted"])
            count += 1
    return count


# ---------------------------------------------------------------- connection test
# A person waits for the answer: fail fast instead of retrying for a minute.
TEST_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=5,
    read_timeout=15,
    s3={"addressing_style": "path"},
)
SUCCESS = "Connection successful"


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    problem: str | None = None  # a short code, e.g. "invalid_credentials"
    suggestion: str = ""


def credential_test(
    *, credential: Credential, bucket: str | None = None, prefix: str = ""
) -> ConnectionResult:
    """Can this credential do its job? For S3: list the bucket (or all buckets); for PGP: decrypt."""
    try:
        result = _test(credential, (bucket or "").strip() or None, prefix or "")
    except ImproperlyConfigured as exc:
        result = ConnectionResult(False, str(exc), "undecryptable")
    logger.info("credential %s tested: %s", credential.name, "ok" if result.ok else result.problem)
    return result


def _test(credential: Credential, bucket: str | None, prefix: str) -> ConnectionResult:
    if credential.kind == Credential.Kind.PGP:
        secrets = credential_secrets(credential)
        problem = pgp_key_check(secrets.get("private_key", ""), secrets.get("passphrase", ""))
        if problem:
            return ConnectionResult(False, problem.message, problem.code)
        return ConnectionResult(True, SUCCESS, suggestion="The key and passphrase can decrypt.")
    if bucket and (bucket_problem := bucket_name_problem(bucket)):
        return ConnectionResult(False, bucket_problem, errors.INVALID_BUCKET_NAME)
    try:
        client = s3_client(credential, config=TEST_CONFIG)
        if not bucket:
            client.list_buckets()
            return ConnectionResult(True, SUCCESS)
        client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
    except Exception as exc:  # noqa: BLE001 - every failure becomes words for the user
        if not bucket and _is_access_denied(exc):
            # The keys were accepted; the policy just does not allow listing every bucket.
            return ConnectionResult(
                True,
                SUCCESS,
                suggestion="This credential may not list all buckets: "
                "enter a bucket to check access to it.",
            )
        described = errors.describe_s3_error(exc, bucket=bucket)
        return ConnectionResult(False, described.message, described.code, described.suggestion)
    where = f"s3://{bucket}/{prefix}"
    return ConnectionResult(True, SUCCESS, suggestion=f"{where} can be listed.")


def _is_access_denied(exc: Exception) -> bool:
    return (
        isinstance(exc, ClientError)
        and getattr(exc, "operation_name", "") == "ListBuckets"
        and errors.describe_s3_error(exc).code == errors.ACCESS_DENIED
    )
