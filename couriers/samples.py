"""Landed files as feed sample files (kind "landed" in feeds.samples), newest first."""

from __future__ import annotations

from typing import BinaryIO

from credentials.services import s3_client
from feeds.readers import open_archive_member

from .models import LandedFile
from .review import MEMBER_SEPARATOR, open_object

LIMIT = 200


def list_landed_files() -> list[dict]:
    files = LandedFile.objects.select_related("courier").order_by("-landed_at", "-id")[:LIMIT]
    return [
        {
            "id": f.pk,
            "key": f.key,
            "name": f.key.rsplit(MEMBER_SEPARATOR, 1)[-1].rsplit("/", 1)[-1],
            "size": f.size,
            "landed_at": f.landed_at.isoformat(),
            "courier": f.courier_id,
            "courier_name": f.courier.name,
            "file_date": f.file_date.isoformat() if f.file_date else None,
            "date": f.file_date.isoformat() if f.file_date else None,
            "label": f"{f.key} ({f.courier.name}, landed {f.landed_at:%Y-%m-%d %H:%M})",
            "file_settings": f.file_settings or {},
        }
        for f in files
    ]


def open_landed_file(ref: dict) -> tuple[BinaryIO, str]:
    """The landed object's content, read with ranged GETs (decrypted, member opened)."""
    landed = LandedFile.objects.select_related(
        "courier__credential", "courier__pgp_credential"
    ).get(pk=ref["id"])
    courier = landed.courier
    key, _, member = landed.key.partition(MEMBER_SEPARATOR)
    client = s3_client(courier.credential)
    stream, name = open_object(
        client, courier.bucket, key, size=None if member else landed.size,
        pgp=courier.pgp_credential,
    )  # fmt: skip
    if member:
        return open_archive_member(stream, name, member), member
    return stream, name
