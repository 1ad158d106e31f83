"""Sample files a feed can be described from, wherever they live.

feeds cannot fetch from S3 itself (it never imports couriers or boto3), so other apps register
a *sample source*: a kind, a way to list its files and a way to open one. A file is described by
a JSON-serialisable ``ref`` dict, stored on the feed as ``Feed.sample``:

    {"kind": "landed", "id": 17, "name": "users-2024-04-10.csv", "label": "...",
     "date": "2024-04-10", "courier": 3, "key": "path/users-2024-04-10.csv",
     "file_settings": {...FileSettings.to_dict()...}}        # optional

``kind`` and ``id`` identify the file; ``name`` is its file name (used to infer the format);
``label``/``date`` are shown; ``file_settings`` (optional) says how to read it.
This app registers kind "upload" (files uploaded on the Add Feed page, under MEDIA_ROOT/samples/);
couriers registers kind "landed" (landed files, newest first).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from .readers import ReaderError, archive_kind, list_archive_members, open_archive_member

ListFiles = Callable[[], list[dict]]
OpenFile = Callable[[dict], tuple[BinaryIO, str]]


class SampleError(Exception):
    """The sample file cannot be found or opened; the message says which and why."""


@dataclass(frozen=True)
class SampleSource:
    kind: str
    list_files: ListFiles
    open_file: OpenFile


_SOURCES: dict[str, SampleSource] = {}


def register_sample_source(kind: str, *, list_files: ListFiles, open_file: OpenFile) -> None:
    """Register (or replace) the sample source of ``kind``; call it from AppConfig.ready()."""
    _SOURCES[kind] = SampleSource(kind, list_files, open_file)


def sample_sources() -> dict[str, SampleSource]:
    return dict(_SOURCES)


def sample_files(kind: str) -> list[dict]:
    """The files of one kind, each with its "kind" set; [] when the kind is not registered."""
    source = _SOURCES.get(kind)
    if source is None:
        return []
    return [{**ref, "kind": kind} for ref in source.list_files()]


def find_sample(kind: str, ref_id: str) -> dict | None:
    """The listed file of ``kind`` whose id is ``ref_id`` (compared as text), or None."""
    for ref in sample_files(kind):
        if str(ref.get("id")) == str(ref_id):
            return ref
    return None


def open_sample(ref: dict) -> tuple[BinaryIO, str]:
    """Open the sample ``ref`` describes: (binary stream, file name). Raises SampleError."""
    source = _SOURCES.get(ref.get("kind", ""))
    if source is None:
        raise SampleError(f"sample files of kind {ref.get('kind')!r} are not available")
    try:
        return source.open_file(ref)
    except (SampleError, ReaderError):
        raise
    except Exception as exc:  # a storage error from another app, in words
        raise SampleError(f"cannot open sample file {ref.get('name', '')}: {exc}") from exc


# ---------------------------------------------------------------- kind "upload"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def samples_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "samples"


def upload_sample(*, stream: BinaryIO, name: str) -> dict:
    """Store an uploaded file as a sample; returns its ref."""
    safe = _SAFE_NAME.sub("_", Path(name).name).strip("._") or "sample"
    ref_id = f"{uuid.uuid4().hex[:12]}/{safe}"
    path = samples_dir() / ref_id
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        while chunk := stream.read(1024 * 1024):
            out.write(chunk)
    return _upload_ref(path)


def _upload_ref(path: Path) -> dict:
    when = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    ref_id = f"{path.parent.name}/{path.name}"
    return {
        "kind": "upload",
        "id": ref_id,
        "name": path.name,
        "label": f"{path.name} (uploaded {when:%Y-%m-%d %H:%M})",
        "date": when.date().isoformat(),
    }


def _list_uploads() -> list[dict]:
    root = samples_dir()
    if not root.is_dir():
        return []
    files = [p for p in root.glob("*/*") if p.is_file()]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [_upload_ref(p) for p in files]


def _open_upload(ref: dict) -> tuple[BinaryIO, str]:
    root = samples_dir().resolve()
    path = (root / str(ref.get("id", ""))).resolve()
    if root not in path.parents or not path.is_file():
        raise SampleError(f"the uploaded sample {ref.get('name', '')!r} no longer exists")
    if archive_kind(path.name):  # an uploaded archive: its first file is the sample
        with path.open("rb") as listed:
            members = list_archive_members(listed, path.name)
        if not members:
            raise SampleError(f"{path.name}: the archive holds no files")
        return open_archive_member(path.open("rb"), path.name, members[0]), members[0]
    return path.open("rb"), path.name


register_sample_source("upload", list_files=_list_uploads, open_file=_open_upload)
