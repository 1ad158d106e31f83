"""Courier configuration: create, update, copy, delete. Both editors save through here."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from couriers.config import entity_tags, validate_entities, validate_load_operations
from couriers.models import Courier
from credentials.models import Credential
from credentials.validation import bucket_name_problem

S3_KINDS = (Credential.Kind.IAM, Credential.Kind.ROLE)


def courier_problems(
    *,
    name: str,
    credential: Credential | None,
    bucket: str,
    prefix: str = "",
    entities: Any,
    load_operations: Any,
    pgp_credential: Credential | None = None,
    instance: Courier | None = None,
) -> dict[str, list[str]]:
    """Every problem, keyed by the field it belongs to (``{}`` when all is well)."""
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not name.strip():
        add("name", "Enter a name for the courier.")
    else:
        taken = Courier.objects.filter(name=name.strip())
        if instance is not None and instance.pk:
            taken = taken.exclude(pk=instance.pk)
        if taken.exists():
            add("name", f"A courier named “{name.strip()}” already exists; choose another name.")
    if credential is None:
        add("credential", "Choose the credential that reaches the bucket.")
    elif credential.kind not in S3_KINDS:
        add("credential", f"“{credential}” is a PGP credential; choose an S3 credential.")
    if not bucket:
        add("bucket", "Enter the name of the S3 bucket to pull from.")
    elif problem := bucket_name_problem(bucket):
        add("bucket", problem)
    if prefix.startswith("/"):
        add("prefix", "The prefix is a path inside the bucket; remove the leading “/”.")
    if pgp_credential is not None and pgp_credential.kind != Credential.Kind.PGP:
        add("pgp_credential", f"“{pgp_credential}” is not a PGP credential.")
    for message in validate_entities(entities):
        add("entities", message)
    tags = entity_tags(entities)
    for message in validate_load_operations(load_operations, tags):
        add("load_operations", message)
    return problems


@transaction.atomic
def courier_create(*, kind: str = Courier.Kind.S3, **fields: Any) -> Courier:
    """A new courier; ``fields`` as _save takes them. Raises ValidationError by field."""
    return _save(Courier(kind=kind), **fields)


@transaction.atomic
def courier_update(*, courier: Courier, **fields: Any) -> Courier:
    """Replace a courier's configuration; ``fields`` as _save takes them."""
    return _save(courier, **fields)


def _save(
    courier: Courier,
    *,
    name: str,
    credential: Credential,
    bucket: str,
    prefix: str = "",
    entities: list[dict[str, Any]],
    load_operations: dict[str, list[dict[str, Any]]],
    pgp_credential: Credential | None = None,
) -> Courier:
    values = {
        "credential": credential,
        "bucket": bucket,
        "prefix": prefix,
        "entities": entities,
        "load_operations": load_operations,
        "pgp_credential": pgp_credential,
    }
    problems = courier_problems(
        name=name,
        instance=courier if courier.pk else None,
        credential=credential,
        bucket=bucket,
        prefix=prefix,
        entities=entities,
        load_operations=load_operations,
        pgp_credential=pgp_credential,
    )
    if problems:
        raise ValidationError(problems)
    courier.name = name.strip()
    for attribute, value in values.items():
        setattr(courier, attribute, value)
    courier.save()
    return courier


def _copy_name(name: str) -> str:
    candidate = f"{name} (copy)"
    n = 2
    while Courier.objects.filter(name=candidate).exists():
        candidate = f"{name} (copy {n})"
        n += 1
    return candidate[:120]


@transaction.atomic
def courier_copy(*, courier: Courier) -> Courier:
    """A new courier with the same configuration, named "<name> (copy)"; no runs or files."""
    return Courier.objects.create(
        name=_copy_name(courier.name),
        kind=courier.kind,
        credential=courier.credential,
        bucket=courier.bucket,
        prefix=courier.prefix,
        entities=courier.entities,
        load_operations=courier.load_operations,
        pgp_credential=courier.pgp_credential,
    )


@transaction.atomic
def courier_delete(*, courier: Courier) -> None:
    """Delete a courier with its runs and landed-file records (not the domain tables)."""
    if courier.runs.filter(status__in=courier.runs.model.ACTIVE_STATUSES).exists():
        raise ValidationError(
            f"“{courier}” has a run in progress; stop it (or wait for it to finish) first."
        )
    courier.delete()


def courier_add_entity(
    *,
    entities: list[dict[str, Any]],
    pattern: str,
    tag: str,
    land_as: dict[str, Any],
    member: str = "",
) -> list[dict[str, Any]]:
    """The entities list with one more entity (the new editor's "Review file" step): a file,
    or, with ``member``, an archive whose member lands under ``tag``.

    An entity with the same tag is replaced, so reviewing a file again updates it.
    """
    land_as = {"file/tag": tag, **land_as}
    entity: dict[str, Any] = {"object/type": "file", "object/file-pattern": pattern}
    if member:
        entity["object/type"] = "archive"
        entity["archive/contents"] = {member: {"subobject/land-as": land_as}}
    else:
        entity["object/land-as"] = land_as
    kept = [e for e in entities if tag not in entity_tags([e])]
    return [*kept, entity]


def courier_set_load(
    *, load_operations: dict[str, Any], feed_id: str, tag: str, truncate: bool
) -> dict[str, Any]:
    """Load operations with ``feed_id`` loading ``tag`` (Upsert, or Truncate and upsert)."""
    ops: list[dict[str, Any]] = [{"type": "truncate"}] if truncate else []
    ops.append({"type": "load", "file": tag})
    return {**load_operations, feed_id: ops}


def literal_pattern(key: str) -> str:
    """A file pattern naming exactly ``key`` (quotes doubled, per the pattern syntax)."""
    return "'" + key.replace("'", "''") + "'"
