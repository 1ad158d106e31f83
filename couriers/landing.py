"""Landing: find the objects a run asks for and record them as landed files."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from feeds.readers import FileSettings, list_archive_members

from .models import CourierRun, LandedFile
from .patterns import FilePattern, days_in


@dataclass
class MissingFile:
    pattern: str
    resolved: str
    day: date | None

    def __str__(self) -> str:
        when = f" for {self.day:%Y-%m-%d}" if self.day else ""
        return f'no object matches "{self.resolved}"{when} (pattern {self.pattern})'


def run_days(run: CourierRun) -> list[date | None]:
    if run.mode == CourierRun.Mode.ALL or run.start_date is None:
        return [None]
    return days_in(run.start_date, run.end_date or run.start_date + timedelta(days=1))


def listing_prefix(pattern_prefix: str, courier_prefix: str) -> str:
    """Narrow the listing with the courier's prefix when the two agree."""
    if courier_prefix.startswith(pattern_prefix):
        return courier_prefix
    return pattern_prefix


def list_objects(client, bucket: str, prefix: str):
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        yield from page.get("Contents", [])


def find_entity_objects(client, run: CourierRun, entity: dict):
    """Objects matching one entity for the run's dates, and the (day, pattern) misses."""
    courier = run.courier
    pattern = FilePattern.parse(entity["object/file-pattern"])
    days = run_days(run) if pattern.has_date else [None]
    found: dict[str, dict] = {}
    missing: list[MissingFile] = []
    for day in days:
        prefix = listing_prefix(pattern.listing_prefix(day), courier.prefix)
        hits = [
            o for o in list_objects(client, courier.bucket, prefix) if pattern.match(o["Key"], day)
        ]
        if not hits:
            missing.append(
                MissingFile(pattern.text, pattern.resolve(day) if day else pattern.resolve(), day)
            )
        for obj in hits:
            obj["file_date"] = pattern.file_date(obj["Key"])
            found[obj["Key"]] = obj
    if run.any_day and found:
        missing = []  # a courier group's offset window accepts a file from any of its days
    return list(found.values()), missing


def land_object(run: CourierRun, obj: dict, land_as: dict, member: str = "") -> LandedFile:
    settings = FileSettings.from_land_as(land_as, name=member or obj["Key"]).to_dict()
    if member:
        settings["archive_member"] = member
    landed, _ = LandedFile.objects.update_or_create(
        courier=run.courier,
        key=obj["Key"] + (f"#{member}" if member else ""),
        etag=obj.get("ETag", "").strip('"'),
        defaults={
            "run": run,
            "size": obj.get("Size", 0),
            "last_modified": obj.get("LastModified") or timezone.now(),
            "tag": land_as.get("file/tag", ""),
            "content_type": land_as.get("file/content-type", ""),
            "file_settings": settings,
            "file_date": obj.get("file_date"),
        },
    )
    return landed


def archive_members(open_object, obj: dict, contents: dict) -> list[tuple[str, dict]]:
    """(member, land-as) pairs for an archive entity: names or wildcards in archive/contents."""
    members = list_archive_members(open_object(obj["Key"]), obj["Key"])
    chosen = []
    for wanted, spec in contents.items():
        for member in members:
            if member == wanted or fnmatch.fnmatchcase(member, wanted):
                chosen.append((member, spec.get("subobject/land-as", {})))
    return chosen


def land_reviewed_file(
    *, courier, client, key: str, tag: str, settings: dict, member: str = ""
) -> LandedFile:
    """Record the file a user reviewed in the new editor: it is the new feed's sample."""
    from .s3 import head  # boto3-facing helpers stay out of the landing logic's import path

    info = head(client, courier.bucket, key)
    file_settings = dict(settings)
    if member:
        file_settings["archive_member"] = member
    landed, _ = LandedFile.objects.update_or_create(
        courier=courier,
        key=key + (f"#{member}" if member else ""),
        etag=info.etag,
        defaults={
            "size": info.size,
            "last_modified": info.last_modified or timezone.now(),
            "tag": tag,
            "content_type": file_settings.get("content_type", ""),
            "file_settings": file_settings,
        },
    )
    return landed
