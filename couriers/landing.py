"""Landing: find the objects a run asks for and record them as landed files."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from feeds.readers import FileSettings, list_archive_members

from .models import CourierRun, LandedFile
from .patterns import FilePattern, days_in
from .s3 import KeyOutOfScope, S3File, head, key_in_scope, list_matching


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


def run_dates(run: CourierRun) -> str:
    """The run's dates as a message says them: "for 2024-03-01", "in all available data"."""
    if run.mode == CourierRun.Mode.ALL or run.start_date is None:
        return "in all available data"
    days = run_days(run)
    if len(days) == 1:
        return f"for {run.start_date:%Y-%m-%d}"
    return f"for {run.start_date:%Y-%m-%d} up to {run.end_date:%Y-%m-%d} (exclusive)"


def find_entity_objects(client, run: CourierRun, entity: dict):
    """Objects matching one entity for the run's dates, with the date stamped in each key,
    and the (day, pattern) misses."""
    courier = run.courier
    pattern = FilePattern.parse(entity["object/file-pattern"])
    days = run_days(run) if pattern.has_date else [None]
    found: dict[str, tuple[S3File, date | None]] = {}
    missing: list[MissingFile] = []
    for day in days:
        _pattern_in_scope(courier, pattern, day)
        hits = list(list_matching(client, courier.bucket, pattern, day, courier.prefix))
        if not hits:
            missing.append(MissingFile(pattern.text, pattern.resolve(day), day))
        for obj in hits:
            found[obj.key] = (obj, pattern.file_date(obj.key))
    if run.any_day and found:
        missing = []  # a courier group's offset window accepts a file from any of its days
    return list(found.values()), missing


def _pattern_in_scope(courier, pattern: FilePattern, day: date | None) -> None:
    """KeyOutOfScope when the pattern can only name keys outside the courier's prefix: a run
    then says so, not "no object matches" (list_matching would list nothing)."""
    prefix, listing = courier.prefix or "", pattern.listing_prefix(day)
    if not (prefix.startswith(listing) or listing.startswith(prefix)):
        raise KeyOutOfScope("file pattern", pattern.resolve(day), prefix)


def land_object(
    *,
    courier,
    obj: S3File,
    land_as: dict,
    run: CourierRun | None = None,
    member: str = "",
    file_date: date | None = None,
    file_settings: dict | None = None,
) -> LandedFile:
    """Record an object (or an archive's member) as landed: choosable as a sample, loadable.

    Only a key under the courier's prefix is recorded (KeyOutOfScope otherwise); the member
    is stored apart from the key, which stays the exact S3 key."""
    key_in_scope(courier, obj.key)
    settings = file_settings or FileSettings.from_land_as(land_as, name=member or obj.key).to_dict()
    landed, _ = LandedFile.objects.update_or_create(
        courier=courier,
        key=obj.key,
        member=member,
        etag=obj.etag,
        defaults={
            "run": run,
            "size": obj.size,
            "last_modified": obj.last_modified or timezone.now(),
            "tag": land_as.get("file/tag", ""),
            "content_type": land_as.get("file/content-type") or settings.get("content_type", ""),
            "file_settings": settings,
            "file_date": file_date,
        },
    )
    return landed


def archive_members(
    open_object, obj: S3File, contents: dict
) -> tuple[list[tuple[str, dict]], list[str]]:
    """(member, land-as) pairs for an archive entity (names or wildcards in archive/contents),
    and the names and wildcards no member matched."""
    members = list_archive_members(open_object(obj.key), obj.key)
    chosen, unmatched = [], []
    for wanted, spec in contents.items():
        hits = [m for m in members if m == wanted or fnmatch.fnmatchcase(m, wanted)]
        chosen += [(member, spec.get("subobject/land-as", {})) for member in hits]
        if not hits:
            unmatched.append(wanted)
    return chosen, unmatched


def land_reviewed_file(
    *, courier, client, key: str, tag: str, settings: dict, member: str = ""
) -> LandedFile:
    """Record the file a user reviewed in the new editor: it is the new feed's sample."""
    return land_object(
        courier=courier,
        obj=head(client, courier.bucket, key_in_scope(courier, key)),
        land_as={"file/tag": tag},
        member=member,
        file_settings=settings,
    )
