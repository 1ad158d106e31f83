"""Rules for a credential's fields, with messages that name the field and say what to fix.

`credential_errors` returns {field: message}; services raise them as one ValidationError so a
form shows each message next to its field.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from amperity_sources.netguard import AddressNotAllowed, check_url

from .models import Credential

EXTERNAL_ID_RE = re.compile(r"^[A-Za-z0-9+=,.@:/-]{2,1224}$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
REGION_RE = re.compile(r"^[a-z0-9-]{1,40}$")
ACCESS_KEY_RE = re.compile(r"^\S{3,128}$")
# S3's rules for new buckets (legacy names may also hold capitals or underscores).
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

SECRET_FIELDS = ("access_key_id", "secret_access_key", "external_id", "private_key", "passphrase")
PLAIN_FIELDS = ("role_arn", "base_credential", "region", "endpoint_url")
# Which fields belong to which kind; the others are cleared on save.
KIND_FIELDS = {
    Credential.Kind.IAM: {"access_key_id", "secret_access_key", "region", "endpoint_url"},
    Credential.Kind.ROLE: {"role_arn", "external_id", "base_credential", "region", "endpoint_url"},
    Credential.Kind.PGP: {"private_key", "passphrase"},
}
# Secrets a credential of each kind must hold (a blank on edit keeps the stored one).
REQUIRED_SECRETS = {
    Credential.Kind.IAM: ("access_key_id", "secret_access_key"),
    Credential.Kind.ROLE: ("external_id",),
    Credential.Kind.PGP: ("private_key",),
}
SECRET_LABELS = {
    "access_key_id": "Access key ID",
    "secret_access_key": "Secret access key",
    "external_id": "External ID",
    "private_key": "Private key",
}


def bucket_name_problem(bucket: str) -> str | None:
    if BUCKET_RE.match(bucket) and ".." not in bucket:
        return None
    return (
        f"Invalid bucket name “{bucket}”: use 3–63 lowercase letters, digits, dots and hyphens, "
        "starting and ending with a letter or digit."
    )


def credential_errors(
    *,
    credential: Credential | None,
    name: str,
    kind: str,
    values: dict,
    stored_secrets: dict[str, str],
) -> dict[str, str]:
    """Every problem with these values, keyed by form field."""
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the credential a name."
    elif (
        Credential.objects.filter(name=name.strip())
        .exclude(pk=getattr(credential, "pk", None))
        .exists()
    ):
        errors["name"] = f"A credential named “{name.strip()}” already exists: choose another name."
    if kind not in Credential.Kind.values:
        errors["kind"] = "Choose a credential type."
        return errors

    for field in REQUIRED_SECRETS[Credential.Kind(kind)]:
        if not values.get(field) and not stored_secrets.get(field):
            errors[field] = f"{SECRET_LABELS[field]} is required."

    access_key = values.get("access_key_id", "")
    if access_key and not ACCESS_KEY_RE.match(access_key):
        errors["access_key_id"] = "The access key ID must be 3–128 characters without spaces."
    external_id = values.get("external_id", "")
    if external_id and not EXTERNAL_ID_RE.match(external_id):
        errors["external_id"] = (
            "The external ID must be 2–1224 characters of letters, digits and + = , . @ : / -"
        )
    if kind == Credential.Kind.ROLE:
        arn = values.get("role_arn", "").strip()
        if not arn:
            errors["role_arn"] = "Enter the ARN of the role to assume."
        elif not ROLE_ARN_RE.match(arn):
            errors["role_arn"] = (
                "The role ARN should look like arn:aws:iam::123456789012:role/RoleName."
            )
        base = values.get("base_credential")
        if base is not None:
            problem = _base_problem(credential, base)
            if problem:
                errors["base_credential"] = problem
    if kind == Credential.Kind.PGP:
        key = values.get("private_key", "")
        if key and "BEGIN PGP PRIVATE KEY BLOCK" not in key:
            errors["private_key"] = (
                "Paste an ASCII-armored private key: it starts with "
                "“-----BEGIN PGP PRIVATE KEY BLOCK-----”."
            )

    region = values.get("region", "").strip()
    if kind != Credential.Kind.PGP and region and not REGION_RE.match(region):
        errors["region"] = "A region looks like us-east-1 (lowercase letters, digits, hyphens)."
    endpoint = values.get("endpoint_url", "").strip()
    if kind != Credential.Kind.PGP and endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors["endpoint_url"] = (
                "The S3 endpoint URL must start with http:// or https:// and name a host, "
                "e.g. https://s3.example.com:9000. Leave it blank for Amazon S3."
            )
        else:
            try:
                check_url(endpoint)
            except AddressNotAllowed as exc:
                errors["endpoint_url"] = str(exc)
    return errors


def _base_problem(credential: Credential | None, base: Credential) -> str | None:
    if base.kind == Credential.Kind.PGP:
        return "A PGP credential cannot sign AWS requests: choose an IAM credential."
    seen = base
    while seen is not None:  # walk the chain: a role may not end up assuming itself
        if credential is not None and seen.pk == credential.pk:
            return "A credential cannot be its own base credential."
        seen = seen.base_credential
    return None
