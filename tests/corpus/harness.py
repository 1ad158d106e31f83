"""Setting up one corpus case through the product's own models and services, and reading what
a user would see afterwards (the domain table, the run, the review page)."""

from __future__ import annotations

import html
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from couriers.models import Courier, CourierRun
from couriers.services.couriers import literal_pattern
from feeds.models import DataSource, Feed, FeedField
from tests.corpus.model import Case, Loads, PartlyLoads, Refused, Where

TAG = "data"
SHORT = 300


# ------------------------------------------------------------------ the feed and the courier
def case_feed(case: Case) -> Feed:
    """An active feed for the case (its table created), as make_feed does, with the field
    options make_feed has no words for (required, precision, scale, incoming names)."""
    from amperity_sources.db import domain_connection
    from feeds.loader import ensure_table
    from feeds.services import feed_table_spec

    source, _ = DataSource.objects.get_or_create(name="Corpus")
    feed = Feed.objects.create(
        data_source=source,
        name=case.id,
        primary_key=case.primary_key,
        error_threshold=case.error_threshold,
        status=Feed.Status.ACTIVE,
    )
    FeedField.objects.bulk_create(
        FeedField(feed=feed, position=i, incoming=f.source, name=f.name, type=f.type,
                  required=f.required, precision=f.precision, scale=f.scale)
        for i, f in enumerate(case.fields)
    )  # fmt: skip
    with domain_connection() as conn:
        ensure_table(conn, feed_table_spec(feed))
    return feed


def load_good_file(case: Case, feed: Feed, where: Where) -> None:
    """Load the good file in-process, straight through the readers and the loader (a courier
    run would only add an S3 round trip; Heap cases load their first dump with a run)."""
    from amperity_sources.db import domain_connection
    from feeds.loader import SourceFile, load
    from feeds.readers import FileSettings, open_reader
    from feeds.services import feed_table_spec

    (obj,) = case.good_objects
    body = obj.body(where) if callable(obj.body) else obj.body
    settings = FileSettings.from_land_as(case.good_land_as, name=case.good_key)
    source = SourceFile(
        name=case.good_key,
        batches=lambda: open_reader(io.BytesIO(body), case.good_key, settings).batches(),
    )
    with domain_connection() as conn:
        result = load(conn, feed_table_spec(feed), [source])
    assert not result.rejects, f"the good file has rejects: {result.rejects[:3]}"


def file_entity(key: str, land_as: dict) -> dict:
    return {
        "object/type": "file",
        "object/file-pattern": literal_pattern(key),
        "object/land-as": {"file/tag": TAG, **land_as},
    }


def hostile_entity(case: Case, where: Where) -> dict:
    key = where.key(case.key)
    if not case.member:
        return file_entity(key, case.land_as)
    return {
        "object/type": "archive",
        "object/file-pattern": literal_pattern(key),
        "archive/contents": {case.member: {"subobject/land-as": {"file/tag": TAG, **case.land_as}}},
    }


def case_courier(case: Case, where: Where, feed: Feed, credential, pgp_credential) -> Courier:
    """The courier reading the case's folder: its manifests (Heap), or the hostile file."""
    if case.heap:
        return Courier.objects.create(
            name=f"Corpus {case.id}",
            kind=Courier.Kind.HEAP,
            credential=credential,
            bucket=where.bucket,
            prefix=where.prefix,
            entities=[],
            load_operations={feed.pk: [{"type": "load", "file": "users"}]},
        )
    return Courier.objects.create(
        name=f"Corpus {case.id}",
        credential=credential,
        pgp_credential=pgp_credential,
        bucket=where.bucket,
        prefix=where.prefix,
        entities=[hostile_entity(case, where)],
        load_operations={feed.pk: [{"type": "load", "file": TAG}]},
    )


def put_objects(s3, where: Where, objects) -> None:
    for obj in objects:
        body = obj.body(where) if callable(obj.body) else obj.body
        s3.put_object(Bucket=where.bucket, Key=where.key(obj.key), Body=body)


# ------------------------------------------------------------------ what the table holds
def table_rows(feed: Feed) -> list[dict]:
    from tests.factories import domain_rows

    return domain_rows(feed)


def _sort_key(case: Case) -> Callable[[dict], tuple]:
    return lambda row: tuple(repr(row.get(k)) for k in case.primary_key)


def projected(case: Case, rows: list[dict]) -> list[dict]:
    """The feed's fields of each row (not _pk, _updated, _loaded_at), in key order."""
    names = [f.name for f in case.fields]
    return sorted(({n: r.get(n) for n in names} for r in rows), key=_sort_key(case))


def expected_table(case: Case, incoming: list[dict], *, replaces: bool = False) -> list[dict]:
    """The good rows upserted with ``incoming`` in file order: later rows win, and a column a
    row does not carry keeps its stored value (None for a new row)."""
    names = [f.name for f in case.fields]
    table: dict[tuple, dict] = {}

    def key(row: dict) -> tuple:
        return tuple(repr(row.get(k)) for k in case.primary_key)

    if not replaces:
        for row in case.good_rows:
            table[key(row)] = {n: row.get(n) for n in names}
    for row in incoming:
        base = table.get(key(row), dict.fromkeys(names))
        table[key(row)] = {**base, **{n: v for n, v in row.items() if n in names}}
    return sorted(table.values(), key=_sort_key(case))


# ------------------------------------------------------------------ messages
def resolve(fragments: list[Any]) -> list[str]:
    """Fragments, with any made at run time (PGP key ids) resolved."""
    out: list[str] = []
    for f in fragments:
        out.extend(f() if callable(f) else [f])
    return out


def missing_fragments(text: str, place: list[str], any_of: list[Any]) -> list[str]:
    """What the message fails to name (case-insensitive): each place, and one of any_of."""
    low = text.lower()
    missing = [p for p in place if p.lower() not in low]
    choices = resolve(any_of)
    if choices and not any(c.lower() in low for c in choices):
        missing.append("one of " + " / ".join(choices))
    return missing


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHORT else text[: SHORT - 1] + "…"


def page_text(response) -> str:
    return html.unescape(response.content.decode("utf-8", "replace"))


# ------------------------------------------------------------------ outcome checks
def outcome_problems(case: Case, run: CourierRun, before: list[dict], after: list[dict], rejects):
    """What differs from the expected outcome, in words (empty: as expected)."""
    expect = case.expect
    problems: list[str] = []
    error = run.error or ""
    if "unexpected error" in error.lower():
        problems.append(f"the run crashed: {short(error)}")
    if isinstance(expect, Loads | PartlyLoads):
        if run.status != CourierRun.Status.SUCCEEDED:
            return problems + [f"run {run.status}, expected it to load: {short(error)}"]
        wanted = expected_table(case, expect.rows, replaces=getattr(expect, "replaces", False))
        got = projected(case, after)
        if got != wanted:
            problems.append(f"table holds {short(got)}, expected {short(wanted)}")
        listed = sorted({(r.row, r.field) for r in rejects})
        wanted_rejects = sorted(expect.rejected) if isinstance(expect, PartlyLoads) else []
        if listed != wanted_rejects:
            problems.append(f"rejects listed {listed}, expected {wanted_rejects}")
        return problems
    if after != before:
        problems.append(f"the table changed: {short(projected(case, after))}")
    if isinstance(expect, Refused):
        if run.status != CourierRun.Status.FAILED:
            problems.append(f"run {run.status}, expected a refusal naming {case.place()}")
        else:
            missing = missing_fragments(error, case.place(), expect.any_of)
            if missing:
                problems.append(f"the refusal does not name {missing}: {short(error)}")
        return problems
    # NothingToLoad: succeeding is fine; failing must name the file.
    if run.status == CourierRun.Status.FAILED and case.file_name.lower() not in error.lower():
        problems.append(f"run failed without naming {case.file_name}: {short(error)}")
    elif run.status not in (CourierRun.Status.SUCCEEDED, CourierRun.Status.FAILED):
        problems.append(f"run {run.status}: {short(error)}")
    return problems


def review_problems(case: Case, response) -> list[str]:
    status = response.status_code
    text = page_text(response)
    if status >= 500:
        return [f"review page answered {status}"]
    mode = case.review_mode
    if mode == "refuses":
        expect = case.expect
        assert isinstance(expect, Refused)
        if not 400 <= status < 500:
            return [f"review page answered {status}, expected a 4xx naming {case.place()}"]
        missing = missing_fragments(text, case.place(), expect.any_of)
        return [f"review page does not name {missing}"] if missing else []
    if mode == "shows":
        if status != 200:
            return [f"review page answered {status}, expected it to show the file"]
        hidden = [v for v in case.shown_values() if v not in text]
        return [f"review page does not show {short(hidden)}"] if hidden else []
    return []


# ------------------------------------------------------------------ the corpus' own worker
def start_worker(queue: str, env: dict[str, str], log: Path, root: Path) -> subprocess.Popen:
    """A real worker on its own queue, with the corpus limits in its environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "amperity_sources", "worker", "-l", "info",
         "-Q", queue, "--concurrency", "1", "--without-gossip", "--without-mingle",
         "-n", f"corpus-{uuid.uuid4().hex[:6]}@%h"],
        cwd=root, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while b"ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"corpus worker did not start:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    return process


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
