"""Landed files as feed sample files (kind "landed" in feeds.samples), newest first."""

from __future__ import annotations

from typing import BinaryIO

from credentials.services import s3_client
from feeds.readers import open_archive_member

from .models import LandedFile
from .review import open_object
from .s3 import key_in_scope

LIMIT = 200


def list_landed_files() -> list[dict]:
    files = LandedFile.objects.select_related("courier").order_by("-landed_at", "-id")[:LIMIT]
    return [
        {
            "id": f.pk,
            "key": f.key,
            "member": f.member,
            "name": f.file_name,
            "size": f.size,
            "landed_at": f.landed_at.isoformat(),
            "courier": f.courier_id,
            "courier_name": f.courier.name,
            "file_date": f.file_date.isoformat() if f.file_date else None,
            "date": f.file_date.isoformat() if f.file_date else None,
            "label": f"{f.label} ({f.courier.name}, landed {f.landed_at:%Y-%m-%d %H:%M})",
            "file_settings": f.file_settings or {},
        }
        for f in files
    ]


def open_landed_file(ref: dict) -> tuple[BinaryIO, str]:
    """The landed object's content, read with ranged GETs (decrypted, member opened).

    Only under the courier's current prefix: a file landed before the prefix changed is
    refused (KeyOutOfScope), as a run would refuse it."""
    landed = LandedFile.objects.select_related(
        "courier__credential", "courier__pgp_credential"
    ).get(pk=ref["id"])
    courier = landed.courier
    key_in_scope(courier, landed.key)
    client = s3_client(courier.credential)
    stream, name = open_object(
        client, courier.bucket, landed.key, size=None if landed.member else landed.size,
        pgp=courier.pgp_credential,
    )  # fmt: skip
    if landed.member:
        return open_archive_member(stream, name, landed.member), landed.member
    return stream, name
