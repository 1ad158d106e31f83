"""Courier configuration: create, update, copy, delete. Both editors save through here."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    An entity with the same tag is replaced, so reviewing a file again updates it; say so
    with courier_entity_replaced.
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


@dataclass
class LoadChange:
    """Load operations after an editor's change, and what the change does, in sentences."""

    load_operations: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def _quoted(tags: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in tags)


def courier_set_load(
    *, load_operations: dict[str, Any], feed_id: str, tag: str, truncate: bool, feed_name: str = ""
) -> LoadChange:
    """Load operations with ``feed_id`` also loading ``tag`` (Upsert, or Truncate and upsert).

    The editors only ever add: the feed's other loads stay, and a truncate it has stays (a
    feed that truncates replaces its table with the rows of every file it loads). Removing
    an operation is courier_remove_load, an explicit action."""
    name = feed_name or feed_id
    ops = [dict(op) for op in load_operations.get(feed_id, [])]
    loads = [str(op.get("file")) for op in ops if op.get("type") == "load"]
    has_truncate = any(op.get("type") == "truncate" for op in ops)
    notes = []
    if tag in loads:
        notes.append(f"{name} already loads “{tag}”: unchanged.")
    else:
        beside = f", beside {_quoted(loads)}" if loads else ""
        notes.append(f"Adds: load “{tag}” into {name}{beside}.")
        ops.append({"type": "load", "file": tag})
        loads.append(tag)
    if truncate and not has_truncate:
        ops.insert(0, {"type": "truncate"})
        notes.append(
            f"Adds truncate: every run replaces {name} with the rows of the files it loads "
            f"({_quoted(loads)})."
        )
    elif not truncate and has_truncate:
        notes.append(
            f"{name} keeps its truncate: every run still replaces the table. To upsert "
            "instead, remove the truncate on the courier page."
        )
    return LoadChange({**load_operations, feed_id: ops}, notes)


def describe_operation(op: dict[str, Any]) -> str:
    return "truncate" if op.get("type") == "truncate" else f"load “{op.get('file', '')}”"


class OperationGone(ValidationError):
    """The operation to remove is no longer there (the courier changed meanwhile)."""


@transaction.atomic
def courier_remove_load(
    *, courier: Courier, feed_id: str, op: dict[str, Any], feed_name: str = ""
) -> str:
    """Remove one load operation (asked for explicitly, on the courier page); returns what
    was done. A feed left without a load is removed: a truncate alone would load nothing."""
    courier = Courier.objects.select_for_update().get(pk=courier.pk)
    name = feed_name or feed_id
    ops = list((courier.load_operations or {}).get(feed_id, []))
    if op not in ops:
        raise OperationGone(
            f"{describe_operation(op)} for {name} is no longer in the load operations (the "
            "courier changed meanwhile); nothing was removed."
        )
    ops.remove(op)
    operations = dict(courier.load_operations)
    message = f"Removed {describe_operation(op)} from {name}."
    if any(o.get("type") == "load" for o in ops):
        operations[feed_id] = ops
    else:
        del operations[feed_id]
        if ops:
            message += f" Nothing is loaded into {name} any more, so its truncate went too."
    _save(
        courier,
        name=courier.name,
        credential=courier.credential,
        bucket=courier.bucket,
        prefix=courier.prefix,
        entities=courier.entities,
        load_operations=operations,
        pgp_credential=courier.pgp_credential,
    )
    return message


def courier_entity_replaced(*, entities: list[dict[str, Any]], tag: str, pattern: str) -> str:
    """What courier_add_entity will replace, in a sentence ("" when the tag is new)."""
    for entity in entities:
        if tag in entity_tags([entity]):
            old = entity.get("object/file-pattern", "")
            return f"This replaces the entity for tag {tag}: {old} (now {pattern})."
    return ""


def literal_pattern(key: str) -> str:
    """A file pattern naming exactly ``key`` (quotes doubled, per the pattern syntax)."""
    return "'" + key.replace("'", "''") + "'"
