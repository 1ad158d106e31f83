"""Writing the demo export to S3: Heap's sync_<dump_id> layout, or dated file names."""

from __future__ import annotations

import json
import math
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any

import fastavro

from .heap_export import (
    _S_PARTS,
    ALL_TABLES,
    DATED_TABLES,
    NEW_USER_PROPERTY,
    HeapExportSpec,
    _mix,
    _Plan,
    avro_schema,
)

# --------------------------------------------------------------------------------------------
# Writing to S3
# --------------------------------------------------------------------------------------------


@dataclass
class TableSummary:
    name: str
    incremental: bool
    columns: list[str]
    keys: list[str] = field(default_factory=list)  # S3 object keys of the table's files
    rows: int = 0


@dataclass
class DumpSummary:
    dump_id: int | None  # None in the dated layout
    day: date
    manifest_key: str | None
    tables: dict[str, TableSummary] = field(default_factory=dict)


@dataclass
class ExportSummary:
    spec: HeapExportSpec
    bucket: str
    prefix: str
    layout: str  # "sync" or "dated"
    dumps: list[DumpSummary] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every Avro object key, in write order
    manifests: list[str] = field(default_factory=list)
    rows_per_table: dict[str, int] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows_per_table.values())


def make_s3_client(
    endpoint_url: str | None = None,
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str = "us-east-1",
) -> Any:
    """A boto3 S3 client (path-style addressing, so local endpoints work)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint_url or None,
        aws_access_key_id=access_key or None,
        aws_secret_access_key=secret_key or None,
        region_name=region,
        config=Config(s3={"addressing_style": "path"}),
    )


def ensure_bucket(s3_client: Any, bucket: str) -> None:
    """Create ``bucket`` unless it exists already."""
    from botocore.exceptions import ClientError

    try:
        s3_client.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
    region = s3_client.meta.region_name
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region and region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3_client.create_bucket(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
            raise


def _normalize_prefix(prefix: str) -> str:
    prefix = prefix.lstrip("/")
    return prefix if not prefix or prefix.endswith("/") else prefix + "/"


class _Counter:
    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            yield row


def _upload_avro(
    s3_client: Any, bucket: str, key: str, schema: Any, rows: Iterable[dict[str, Any]]
) -> int:
    """Stream ``rows`` into a snappy Avro file on disk, then upload it. Returns the row count."""
    counter = _Counter(iter(rows))
    with tempfile.TemporaryFile() as fo:
        fastavro.writer(fo, schema, counter, codec="snappy", sync_interval=256 * 1024)
        fo.seek(0)
        s3_client.upload_fileobj(fo, bucket, key)
    return counter.count


def _part_uuid(spec: HeapExportSpec, table: str, k: int) -> str:
    salt = ALL_TABLES.index(table)
    value = (_mix(spec.seed, _S_PARTS, salt, k) << 64) | _mix(spec.seed, _S_PARTS + 1, salt, k)
    return str(uuid.UUID(int=value, version=4))


def _property_definitions(spec: HeapExportSpec, k: int) -> list[dict[str, Any]]:
    defs: list[dict[str, Any]] = [
        {
            "property_name": "plan",
            "type": "user",
            "definition": {"kind": "snapshot", "source": "identify", "field": "plan"},
        },
        {
            "property_name": "seats",
            "type": "user",
            "definition": {"kind": "snapshot", "source": "identify", "field": "seats"},
        },
        {
            "property_name": "channel",
            "type": "session",
            "definition": {
                "kind": "case",
                "cases": [
                    {"value": "Search", "condition": {"referrer": {"contains": "google"}}},
                    {"value": "Social", "condition": {"referrer": {"contains": "t.co"}}},
                ],
                "default": "Direct",
            },
        },
    ]
    if spec.has_new_property(k):
        defs.append(
            {
                "property_name": NEW_USER_PROPERTY,
                "type": "user",
                "definition": {"kind": "snapshot", "source": "utm", "field": "utm_source"},
            }
        )
    return defs


def write_heap_export(
    s3_client: Any, bucket: str, spec: HeapExportSpec, prefix: str = ""
) -> ExportSummary:
    """Write every dump of ``spec`` to ``bucket`` in Heap's ``sync_<dump_id>`` layout.

    Part files first, then ``property_definitions.json``, then the manifest (a manifest means
    its dump is complete). Object keys are deterministic, so running it again overwrites.
    """
    prefix = _normalize_prefix(prefix)
    plan = _Plan(spec)
    summary = ExportSummary(spec=spec, bucket=bucket, prefix=prefix, layout="sync")
    for k, (dump_id, day) in enumerate(zip(spec.dump_ids, spec.dump_dates, strict=True)):
        dump = DumpSummary(dump_id=dump_id, day=day, manifest_key=None)
        manifest_tables = []
        for table in spec.tables:
            columns = plan.columns(table, k)
            info = TableSummary(name=table, incremental=spec.incremental(table, k), columns=columns)
            schema = fastavro.parse_schema(avro_schema(table, spec.has_new_property(k)))
            part_size = spec.part_rows
            if k == 0 and table != "user_migrations":
                # the first dump always spreads a table over at least two parts
                part_size = max(1, min(part_size, math.ceil(plan.end(table, 0) / 2)))
            rows = plan.iter_rows(table, k)
            uid = _part_uuid(spec, table, k)
            part = 0
            while True:
                head = list(islice(rows, 1))  # no empty trailing part
                if not head:
                    break
                key = f"{prefix}sync_{dump_id}/{table}/part-{part:05d}-{uid}-c000.avro"
                chunk = _chain(head, islice(rows, part_size - 1))
                n = _upload_avro(s3_client, bucket, key, schema, chunk)
                info.keys.append(key)
                info.rows += n
                summary.files.append(key)
                part += 1
            dump.tables[table] = info
            summary.rows_per_table[table] = summary.rows_per_table.get(table, 0) + info.rows
            manifest_tables.append(
                {
                    "name": table,
                    "columns": columns,
                    "files": [f"s3://{bucket}/{key}" for key in info.keys],
                    "incremental": info.incremental,
                }
            )
        defs_key = f"{prefix}sync_{dump_id}/property_definitions.json"
        s3_client.put_object(
            Bucket=bucket,
            Key=defs_key,
            ContentType="application/json",
            Body=json.dumps(_property_definitions(spec, k), indent=2).encode(),
        )
        manifest = {
            "dump_id": dump_id,
            "tables": manifest_tables,
            "property_definitions": f"s3://{bucket}/{defs_key}",
        }
        manifest_key = f"{prefix}manifests/sync_{dump_id}.json"
        s3_client.put_object(
            Bucket=bucket,
            Key=manifest_key,
            ContentType="application/json",
            Body=json.dumps(manifest, indent=2).encode(),
        )
        dump.manifest_key = manifest_key
        summary.manifests.append(manifest_key)
        summary.dumps.append(dump)
    return summary


def _chain(head: list[dict[str, Any]], rest: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from head
    yield from rest


def dated_key(prefix: str, table: str, day: date) -> str:
    """``path/to/users-2024-03-01.avro`` style key of the dated layout."""
    return f"{_normalize_prefix(prefix)}{table}-{day:%Y-%m-%d}.avro"


def dated_spec(
    days: Sequence[date],
    rows: int = 10_000,
    seed: int = 0,
    tables: Sequence[str] = DATED_TABLES,
) -> HeapExportSpec:
    """The spec behind :func:`write_dated_export`: one "dump" per day, no resync, no new column."""
    return HeapExportSpec(
        rows=rows,
        dumps=len(days),
        seed=seed,
        dates=tuple(days),
        resync_table=None,
        new_property=False,
        tables=tuple(tables),
        part_rows=max(rows, 1),
    )


def write_dated_export(
    s3_client: Any,
    bucket: str,
    days: Sequence[date],
    rows: int = 10_000,
    seed: int = 0,
    prefix: str = "path/to/",
    tables: Sequence[str] = DATED_TABLES,
) -> ExportSummary:
    """Amperity's example layout: ``<prefix><table>-YYYY-MM-dd.avro``, one file per table per day.

    The first day holds the full tables, later days new rows plus re-deliveries (as the
    incremental dumps of :func:`write_heap_export`). Ground truth for loading the days in
    order with upsert: ``expected_tables(summary.spec)``.
    """
    days = list(days)
    if len(set(days)) != len(days) or days != sorted(days):
        raise ValueError("days must be distinct and in order")
    spec = dated_spec(days, rows=rows, seed=seed, tables=tables)
    prefix = _normalize_prefix(prefix)
    plan = _Plan(spec)
    summary = ExportSummary(spec=spec, bucket=bucket, prefix=prefix, layout="dated")
    for k, day in enumerate(days):
        dump = DumpSummary(dump_id=None, day=day, manifest_key=None)
        for table in spec.tables:
            key = dated_key(prefix, table, day)
            schema = fastavro.parse_schema(avro_schema(table, False))
            n = _upload_avro(s3_client, bucket, key, schema, plan.iter_rows(table, k))
            dump.tables[table] = TableSummary(
                name=table,
                incremental=spec.incremental(table, k),
                columns=plan.columns(table, k),
                keys=[key],
                rows=n,
            )
            summary.files.append(key)
            summary.rows_per_table[table] = summary.rows_per_table.get(table, 0) + n
        summary.dumps.append(dump)
    return summary
