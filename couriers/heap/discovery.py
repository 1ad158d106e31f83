"""What a Heap bucket holds: its tables, their columns and types, and about how many rows.

Cheap on purpose: the manifests, one listing per recent dump (for file sizes), and the first
Avro file of each table (its schema, its first rows for time-in-text columns, its block
counts for rows per byte). Nothing is decoded beyond the first block.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import fastavro
import pyarrow as pa

from couriers.s3 import RangedFile, list_prefix
from feeds.inference import infer_field
from feeds.readers import ReaderError
from feeds.readers.avro_reader import arrow_schema

from .manifests import Manifest, ManifestError, manifests_list, normalize_prefix

# Heap's fixed tables first, in the order a user reads them; event tables follow by name.
FIXED_TABLES = ("users", "sessions", "pageviews", "user_migrations")
TABLE_KEYS = {"users": "user_id", "sessions": "session_id", "user_migrations": "from_user_id"}
EVENT_KEY = "event_id"
SAMPLE_ROWS = 200
COUNT_BYTES = 32 * 1024 * 1024  # count blocks of the first file up to this far, then extrapolate
MAX_SIZED_DUMPS = 30  # list at most this many recent dumps for file sizes


class DiscoveryError(Exception):
    """The bucket cannot be read as a Heap export; the message says why and what to do."""


@dataclass
class HeapColumn:
    name: str
    type: str  # a feed field type
    avro_type: str  # as shown to the user
    precision: int | None = None  # decimals: the Avro schema's precision and scale
    scale: int | None = None


@dataclass
class HeapTable:
    name: str
    key: str
    columns: list[HeapColumn] = field(default_factory=list)
    rows_estimate: int = 0
    dumps: int = 0  # how many dumps carry it
    latest_dump: int = 0

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class Discovery:
    bucket: str
    prefix: str
    dump_ids: list[int]
    tables: list[HeapTable]

    def table(self, name: str) -> HeapTable | None:
        return next((t for t in self.tables if t.name == name), None)


def table_key(name: str) -> str:
    return TABLE_KEYS.get(name, EVENT_KEY)


def table_order(name: str) -> tuple[int, str]:
    return (FIXED_TABLES.index(name) if name in FIXED_TABLES else len(FIXED_TABLES), name)


def _avro_type_text(avro) -> str:
    if isinstance(avro, list):
        return " | ".join(_avro_type_text(a) for a in avro if a != "null") or "null"
    if isinstance(avro, dict):
        return avro.get("logicalType") or _avro_type_text(avro.get("type"))
    return str(avro)


def inspect_avro(client, bucket: str, key: str, size: int) -> tuple[list[HeapColumn], float]:
    """The file's columns (types from its Avro schema; text columns from their first values)
    and its rows per byte."""
    stream = RangedFile(client, bucket, key, size)
    try:
        blocks = fastavro.block_reader(stream)
        schema = blocks.writer_schema
        rows, sample = 0, []
        for block in blocks:
            rows += block.num_records
            if not sample:
                sample = list(block)[:SAMPLE_ROWS]
            if stream.tell() > COUNT_BYTES:
                break
        position = max(stream.tell(), 1)
    except Exception as exc:  # noqa: BLE001 - a bad file is reported, not a crash
        raise DiscoveryError(
            f"{key}: cannot read it as Avro ({type(exc).__name__}: {exc})"
        ) from None
    try:
        arrow, _ = arrow_schema(schema, key)
    except ReaderError as exc:  # a recursive or too deeply nested schema
        raise DiscoveryError(str(exc)) from None
    avro_types = (
        {f["name"]: f["type"] for f in schema.get("fields", [])} if isinstance(schema, dict) else {}
    )
    columns = []
    for column in arrow:
        values = [r.get(column.name) for r in sample]
        texts = [v if isinstance(v, str) or v is None else str(v) for v in values]
        ftype, precision, scale = infer_field(
            column.type, texts if pa.types.is_string(column.type) else []
        )
        avro_type = _avro_type_text(avro_types.get(column.name))
        columns.append(HeapColumn(column.name, ftype, avro_type, precision, scale))
    return columns, rows / position


def _sizes(client, bucket: str, prefix: str, manifest: Manifest) -> dict[str, int]:
    """{key: size} of the dump's objects (one listing of sync_<id>/, paged)."""
    keys = [k for t in manifest.tables for k in t.keys]
    if not keys:
        return {}
    folder = keys[0].rsplit("/", 2)[0] + "/"  # …/sync_<id>/
    return {obj.key: obj.size for obj in list_prefix(client, bucket, folder)}


def heap_discover(client, bucket: str, prefix: str = "") -> Discovery:
    """Read the manifests and describe every table found (latest schema first)."""
    prefix = normalize_prefix(prefix)
    try:
        manifests = manifests_list(client, bucket, prefix)
    except ManifestError as exc:
        raise DiscoveryError(str(exc)) from None
    if not manifests:
        raise DiscoveryError(
            f"No Heap manifests under s3://{bucket}/{prefix}manifests/. Heap Connect writes one "
            "per dump: check the bucket and the prefix (the folder that holds manifests/)."
        )
    recent = manifests[-MAX_SIZED_DUMPS:]
    recent_ids = {m.dump_id for m in recent}
    sizes: dict[str, int] = {}
    for manifest in recent:
        sizes.update(_sizes(client, bucket, prefix, manifest))
    names = sorted({t.name for m in manifests for t in m.tables}, key=table_order)
    tables = []
    for name in names:
        carrying = [m for m in manifests if m.table(name)]
        latest = carrying[-1]
        table = HeapTable(name, table_key(name), dumps=len(carrying), latest_dump=latest.dump_id)
        latest_with_files = next((m for m in reversed(carrying) if m.table(name).keys), None)
        if latest_with_files is not None:
            first = latest_with_files.table(name).keys[0]
            if first not in sizes:
                sizes.update(_sizes(client, bucket, prefix, latest_with_files))
            if first not in sizes:
                raise DiscoveryError(
                    f"{latest_with_files.key} lists {first}, which is not in the bucket."
                )
            table.columns, per_byte = inspect_avro(client, bucket, first, sizes[first])
            # Rows since the table's last full sync (within the recent dumps listed).
            since = [m for m in carrying if m.dump_id in recent_ids]
            full = [i for i, m in enumerate(since) if not m.table(name).incremental]
            since = since[full[-1] :] if full else since
            total = sum(sizes.get(k, 0) for m in since for k in m.table(name).keys)
            table.rows_estimate = round(total * per_byte)
        else:
            table.columns = [HeapColumn(c, "string", "") for c in latest.table(name).columns]
        tables.append(table)
    return Discovery(bucket, prefix, [m.dump_id for m in manifests], tables)
