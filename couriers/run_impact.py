"""What a run would do, for the Run dialog: listed the way the run lists, written nowhere.

For the chosen dates: the objects each entity would land (and the misses), and per feed of the
load operations whether its table is truncated and reloaded, upserted or kept, with its rows now.
The same rules as the pipeline (couriers/pipeline.py: _feed_plan, load_feed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from credentials.errors import describe_s3_error
from feeds.models import Feed

from .config import entity_tags
from .feed_load import run_s3_client, table_rows
from .landing import MissingFile, find_entity_objects, run_dates
from .models import Courier, CourierRun, LoadedObject
from .s3 import S3Error


@dataclass
class EntityImpact:
    tags: list[str]
    pattern: str
    keys: list[str]
    etags: dict[str, str]
    missing: list[MissingFile]
    optional: bool


@dataclass
class RunImpact:
    when: str
    entities: list[EntityImpact] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)  # a sentence per feed
    problems: list[str] = field(default_factory=list)  # why the run would fail
    error: str = ""  # the bucket could not be listed


def run_impact(*, courier: Courier, run_arguments: dict) -> RunImpact:
    """``run_arguments`` as RunCourierForm.run_arguments() gives them."""
    args = dict(run_arguments)
    if args["mode"] == CourierRun.Mode.DAY:
        args["end_date"] = None  # run_days: one day
    run = CourierRun(courier=courier, **args)
    impact = RunImpact(when=run_dates(run))
    client = run_s3_client(run)
    try:
        for index, entity in enumerate(courier.entities):
            objects, missing = find_entity_objects(client, run, entity)
            objects.sort(key=lambda o: (o[1] is None, o[1], o[0].key))
            impact.entities.append(
                EntityImpact(
                    tags=entity_tags([entity]),
                    pattern=entity.get("object/file-pattern", ""),
                    keys=[o.key for o, _ in objects],
                    etags={o.key: o.etag for o, _ in objects},
                    missing=missing,
                    optional=bool(entity.get("object/optional")),
                )
            )
            if missing and not (entity.get("object/optional") or run.skip_missing):
                impact.problems += [f"entities[{index}]: {m}" for m in missing]
    except S3Error as exc:
        impact.error = str(exc.problem)
        return impact
    except (ClientError, BotoCoreError) as exc:
        impact.error = str(describe_s3_error(exc, bucket=courier.bucket))
        return impact
    if not run.ingest_only and not impact.problems:
        impact.tables = [_table_sentence(run, feed_id, ops, impact) for feed_id, ops in
                         (courier.load_operations or {}).items()]  # fmt: skip
    return impact


def _table_sentence(run: CourierRun, feed_id: str, ops: list, impact: RunImpact) -> str:
    feed = Feed.objects.filter(pk=feed_id, status=Feed.Status.ACTIVE).first()
    if feed is None:
        return f'Feed "{feed_id}" does not exist or is not active: the run will fail.'
    truncate = any(op.get("type") == "truncate" for op in ops)
    tags = {op.get("file") for op in ops if op.get("type") == "load"}
    found = {k: e.etags[k] for e in impact.entities if tags & set(e.tags) for k in e.keys}
    before = []
    if not truncate and not run.reload:
        done = set(
            LoadedObject.objects.filter(feed=feed, key__in=list(found), member="").values_list(
                "key", "etag"
            )
        )
        before = [k for k, etag in found.items() if (k, etag) in done]
    files = [k for k in found if k not in before]
    rows = table_rows(feed)
    table = feed.table_name
    if files:
        how = "truncated and reloaded" if truncate else "upserted"
        sentence = f"{table} will be {how} ({rows} now) from {_files(len(files))}"
        if before:
            sentence += f"; {_files(len(before))} loaded before will be skipped"
        return sentence + "."
    if before:
        n = len(before)
        return (
            f"{table}: {_files(n)} {'was' if n == 1 else 'were'} loaded before and will be "
            f"skipped (choose “Reload files already loaded” to load "
            f"{'it' if n == 1 else 'them'} again); the table will be kept ({rows})."
        )
    return f"{table} has nothing to load: the table will be kept ({rows})."


def _files(n: int) -> str:
    return f"{n} file{'s' * (n != 1)}"
