"""Credentials: the one place that builds boto3 sessions and S3 clients."""

from __future__ import annotations

import boto3
from botocore.config import Config

from .crypto import decrypt_secrets, encrypt_secrets
from .models import Credential

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


def boto_session(credential: Credential) -> boto3.Session:
    """An IAM credential's keys, or a role assumed through STS on top of a base credential."""
    if credential.kind == Credential.Kind.IAM:
        secrets = credential_secrets(credential)
        return boto3.Session(
            aws_access_key_id=secrets.get("access_key_id"),
            aws_secret_access_key=secrets.get("secret_access_key"),
            region_name=credential.region or "us-east-1",
        )
    if credential.kind == Credential.Kind.ROLE:
        base = (
            boto_session(credential.base_credential)
            if credential.base_credential_id
            else boto3.Session(region_name=credential.region or "us-east-1")
        )
        sts = base.client("sts", endpoint_url=_endpoint(credential) or None, config=S3_CONFIG)
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
    if credential.kind == Credential.Kind.ROLE and credential.base_credential_id:
        return _endpoint(credential.base_credential)
    return ""


def s3_client(credential: Credential):
    return boto_session(credential).client(
        "s3", endpoint_url=_endpoint(credential) or None, config=S3_CONFIG
    )
