"""The new editor's work in progress, kept in the session until Save.

A draft holds exactly the fields a Courier stores (name, credential, bucket, prefix, entities,
load operations, PGP credential), so either editor can pick it up: switching loses nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse

from couriers.models import Courier
from credentials.models import Credential

SESSION_KEY = "courier_drafts"
MAX_DRAFTS = 20


def draft_from_courier(courier: Courier | None) -> dict[str, Any]:
    if courier is None:
        return {
            "courier_id": None,
            "name": "",
            "credential_id": None,
            "bucket": "",
            "prefix": "",
            "pgp_credential_id": None,
            "entities": [],
            "load_operations": {},
            "connected": False,
        }
    return {
        "courier_id": courier.pk,
        "name": courier.name,
        "credential_id": courier.credential_id,
        "bucket": courier.bucket,
        "prefix": courier.prefix,
        "pgp_credential_id": courier.pgp_credential_id,
        "entities": courier.entities,
        "load_operations": courier.load_operations,
        "connected": True,
    }


def draft_new(request, values: dict[str, Any]) -> str:
    drafts = request.session.get(SESSION_KEY, {})
    if len(drafts) >= MAX_DRAFTS:  # forget the oldest
        for old in list(drafts)[: len(drafts) - MAX_DRAFTS + 1]:
            drafts.pop(old)
    draft_id = uuid.uuid4().hex[:12]
    drafts[draft_id] = {"columns": {}, **values}
    request.session[SESSION_KEY] = drafts
    return draft_id


def draft_get(request, draft_id: str) -> dict[str, Any]:
    draft = request.session.get(SESSION_KEY, {}).get(draft_id)
    if draft is None:
        raise Http404("This editor session has expired; open the courier again.")
    return draft


def draft_save(request, draft_id: str, draft: dict[str, Any]) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts[draft_id] = draft
    request.session[SESSION_KEY] = drafts


def draft_drop(request, draft_id: str) -> None:
    drafts = request.session.get(SESSION_KEY, {})
    drafts.pop(draft_id, None)
    request.session[SESSION_KEY] = drafts


@dataclass
class Target:
    """The bucket location a browse/pattern/review request is about, and its URLs."""

    credential: Credential | None
    bucket: str
    prefix: str
    pgp_credential: Credential | None
    courier: Courier | None = None
    draft_id: str | None = None
    draft: dict[str, Any] | None = None

    def url(self, name: str) -> str:
        if self.draft_id:
            return reverse(f"couriers:wizard_{name}", args=[self.draft_id])
        assert self.courier is not None
        return reverse(f"couriers:{name}", args=[self.courier.pk])


def _credential(pk: int | None) -> Credential | None:
    return Credential.objects.filter(pk=pk).first() if pk else None


def resolve_target(request, *, pk: int | None = None, draft: str | None = None) -> Target:
    if draft is not None:
        values = draft_get(request, draft)
        return Target(
            credential=_credential(values.get("credential_id")),
            bucket=values.get("bucket", ""),
            prefix=values.get("prefix", ""),
            pgp_credential=_credential(values.get("pgp_credential_id")),
            draft_id=draft,
            draft=values,
        )
    courier = get_object_or_404(Courier.objects.select_related("credential"), pk=pk)
    return Target(
        credential=courier.credential,
        bucket=courier.bucket,
        prefix=courier.prefix,
        pgp_credential=courier.pgp_credential,
        courier=courier,
    )


def entity_rows(entities: Any) -> list[dict[str, str]]:
    """One row per file an entities list lands (archive members included), for tables."""
    rows: list[dict[str, str]] = []
    for entity in entities if isinstance(entities, list) else []:
        if not isinstance(entity, dict):
            continue
        pattern = str(entity.get("object/file-pattern", ""))
        lands = [("", entity.get("object/land-as"))]
        contents = entity.get("archive/contents")
        if isinstance(contents, dict):
            lands = [(m, (v or {}).get("subobject/land-as")) for m, v in contents.items()]
        for member, land_as in lands:
            land_as = land_as if isinstance(land_as, dict) else {}
            rows.append(
                {
                    "tag": str(land_as.get("file/tag", "")),
                    "pattern": pattern,
                    "member": member,
                    "content_type": str(land_as.get("file/content-type", "")),
                    "optional": bool(entity.get("object/optional")),
                }
            )
    return rows
