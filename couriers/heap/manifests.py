"""Heap Connect manifests: one JSON document per dump, listing each table's files.

{"dump_id": 852, "tables": [{"name": "users", "columns": [...], "incremental": true,
  "files": ["s3://bucket/sync_852/users/part-00000-….avro", ...]}], "property_definitions": …}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from couriers.s3 import KeyOutOfScope, Location, key_in_scope, list_folder, open_stream

MANIFEST_FOLDER = "manifests/"
TABLE_NAME = re.compile(r"^[A-Za-z0-9_]+$")
PART_NUMBER = re.compile(r"part-(\d+)")
MAX_MANIFEST_BYTES = 20 * 1024 * 1024


class ManifestError(Exception):
    """A manifest cannot be used; the message names the manifest and the problem."""


@dataclass(frozen=True)
class ManifestTable:
    name: str
    columns: list[str]
    keys: list[str]  # S3 object keys of the table's files, in part order
    incremental: bool


@dataclass(frozen=True)
class Manifest:
    dump_id: int
    key: str
    tables: list[ManifestTable]
    last_modified: datetime | None = None

    def table(self, name: str) -> ManifestTable | None:
        return next((t for t in self.tables if t.name == name), None)


def normalize_prefix(prefix: str) -> str:
    prefix = (prefix or "").lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


def _part_order(key: str) -> tuple[int, str]:
    match = PART_NUMBER.search(key.rsplit("/", 1)[-1])
    return (int(match.group(1)) if match else 0, key)


def _object_key(url: str, bucket: str, where: str) -> str:
    if not isinstance(url, str) or not url:
        raise ManifestError(f"{where}: a file entry is not an S3 URL")
    if not url.startswith("s3://"):
        return url.lstrip("/")  # a plain key
    named_bucket, _, key = url[len("s3://") :].partition("/")
    if named_bucket != bucket:
        raise ManifestError(
            f"{where}: the file {url} is in bucket {named_bucket}, not {bucket}; "
            "point the courier at the bucket Heap writes to."
        )
    return key


def manifest_parse(data: bytes, *, key: str, bucket: str) -> Manifest:
    """Validate one manifest's JSON; raises ManifestError naming the key and the field."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"{key}: not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ManifestError(f"{key}: expected a JSON object with dump_id and tables")
    dump_id = doc.get("dump_id")
    if isinstance(dump_id, str) and dump_id.isdigit():
        dump_id = int(dump_id)
    if not isinstance(dump_id, int) or isinstance(dump_id, bool):
        raise ManifestError(f"{key}: dump_id must be a number")
    raw_tables = doc.get("tables")
    if not isinstance(raw_tables, list):
        raise ManifestError(f"{key}: tables must be a list")
    tables: list[ManifestTable] = []
    for i, t in enumerate(raw_tables):
        where = f"{key}: tables[{i}]"
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise ManifestError(f"{where}: each table needs a name")
        name = t["name"]
        if not TABLE_NAME.match(name):
            raise ManifestError(f"{where}: table name {name!r} is not a Heap table name")
        columns = t.get("columns", [])
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ManifestError(f"{where} ({name}): columns must be a list of names")
        files = t.get("files", [])
        if not isinstance(files, list):
            raise ManifestError(f"{where} ({name}): files must be a list of S3 URLs")
        incremental = t.get("incremental", True)
        if not isinstance(incremental, bool):
            raise ManifestError(f"{where} ({name}): incremental must be true or false")
        keys = sorted((_object_key(f, bucket, f"{where} ({name})") for f in files), key=_part_order)
        if not columns:
            raise ManifestError(
                f"{where} ({name}): lists no columns; Heap always names a table's columns — "
                "is the manifest complete?"
            )
        tables.append(ManifestTable(name, list(columns), keys, incremental))
    return Manifest(dump_id=dump_id, key=key, tables=tables)


def manifest_keys(client, bucket: str, prefix: str = "") -> list[tuple[str, datetime | None]]:
    """(key, last modified) of every manifest under ``<prefix>manifests/``."""
    folder = normalize_prefix(prefix) + MANIFEST_FOLDER
    found: list[tuple[str, datetime | None]] = []
    token = None
    while True:
        page = list_folder(client, bucket, folder, token=token, page_size=1000)
        found.extend((f.key, f.last_modified) for f in page.files if f.key.endswith(".json"))
        if not page.next_token:
            return found
        token = page.next_token


def manifest_read(client, bucket: str, key: str, last_modified=None) -> Manifest:
    with open_stream(client, bucket, key) as stream:
        data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{key}: larger than 20 MB; is this a Heap manifest?")
    manifest = manifest_parse(data, key=key, bucket=bucket)
    return Manifest(manifest.dump_id, key, manifest.tables, last_modified)


def manifests_list(
    client, bucket: str, prefix: str = "", *, skip: set[str] | None = None
) -> list[Manifest]:
    """Every manifest (but those whose keys are in ``skip``), in dump_id order.

    A manifest listing a file outside the prefix is refused: a courier reads only there."""
    manifests = [
        manifest_read(client, bucket, key, modified)
        for key, modified in manifest_keys(client, bucket, prefix)
        if not skip or key not in skip
    ]
    ids: dict[int, str] = {}
    scope = Location(bucket, normalize_prefix(prefix))
    for m in manifests:
        for table in m.tables:
            for file_key in table.keys:
                try:
                    key_in_scope(scope, file_key)
                except KeyOutOfScope as exc:
                    raise ManifestError(f"{m.key} ({table.name}): {exc.problem.message}") from None
        if m.dump_id in ids:
            raise ManifestError(
                f"{m.key} and {ids[m.dump_id]} both describe dump {m.dump_id}; remove one of them."
            )
        ids[m.dump_id] = m.key
    return sorted(manifests, key=lambda m: m.dump_id)
