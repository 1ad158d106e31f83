"""Benchmark a whole Heap Connect export through a real Heap courier run.

    .venv/bin/python bench/heap.py [ROWS]      (default 2_300_000 rows written over all dumps)

Writes the demo generator's multi-table export (4 dumps: full, incremental with
re-deliveries, a sessions resync, a new user property) to S3_ENDPOINT_URL, sets Django up
against DATABASE_URL (whatever is missing — Postgres, Redis, S3 — is started by the
launcher's embedded stack), creates the Heap courier and its feeds through the product's
services, and runs the courier in this process (courier_run_execute). Prints rows per second
per table; the last line is machine-readable. The generator takes about 1 min per 1 M rows.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    # A run skips dumps a later full sync supersedes (about 11 %): 2.3 M written ≥ 2 M loaded.
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2_300_000
    from amperity_sources.launcher import Stack

    stack = Stack(Path(tempfile.mkdtemp(prefix="heap-bench-")), fixed_ports=False)
    os.environ.update(stack.start())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    try:
        last_line = run_bench(rows)
    finally:
        stack.stop()
    print(last_line, flush=True)


def run_bench(rows: int) -> str:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)

    from couriers.heap.discovery import heap_discover
    from couriers.heap.setup import heap_courier_create, heap_feeds, heap_feeds_activate
    from couriers.models import CourierRun
    from couriers.pipeline import courier_run_execute
    from couriers.services.runs import courier_run_start
    from credentials.models import Credential
    from credentials.services import credential_set_secrets, s3_client
    from demo import HeapExportSpec, ensure_bucket, make_s3_client, write_heap_export
    from feeds.services import feed_delete

    endpoint = os.environ["S3_ENDPOINT_URL"]
    key = os.environ.get("S3_ACCESS_KEY_ID", "test")
    secret = os.environ.get("S3_SECRET_ACCESS_KEY", "test-secret")
    s3 = make_s3_client(endpoint, key, secret)
    tag = uuid.uuid4().hex[:6]
    bucket = f"heap-rs3-bench-{tag}"
    ensure_bucket(s3, bucket)
    spec = HeapExportSpec(rows=rows, seed=42)
    print(f"heap bench: writing about {rows:,} rows in {spec.dumps} dumps to {bucket}", flush=True)
    started = time.perf_counter()
    summary = write_heap_export(s3, bucket, spec)
    print(
        f"written {summary.total_rows:,} rows, {len(summary.files)} files in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )

    credential = Credential(
        name=f"Heap bench {tag}", kind=Credential.Kind.IAM, endpoint_url=endpoint
    )
    credential_set_secrets(credential, {"access_key_id": key, "secret_access_key": secret})
    credential.save()
    discovery = heap_discover(s3_client(credential), bucket)
    courier = heap_courier_create(
        name=f"Heap bench {tag}",
        credential=credential,
        bucket=bucket,
        prefix="",
        tables=discovery.tables,
        data_source=f"HeapBench{tag}",
    )
    failed = heap_feeds_activate(courier=courier)
    assert not failed, failed
    feeds = heap_feeds(courier)
    try:
        run = courier_run_start(courier=courier, mode=CourierRun.Mode.ALL, queue=False)
        started = time.perf_counter()
        courier_run_execute(run.pk)
        seconds = time.perf_counter() - started
        run.refresh_from_db()
        if run.status != CourierRun.Status.SUCCEEDED:
            raise SystemExit(f"run {run.status}: {run.error}")
        return report(run, summary, seconds)
    finally:
        for feed in feeds.values():
            feed_delete(feed=feed)


def report(run, summary, seconds: float) -> str:
    previous = None
    loads = list(run.loads.select_related("feed__data_source").order_by("pk"))
    events = {e.message: e.at for e in run.events.all()}
    total = 0
    print(f"{'table':<22} {'rows read':>11} {'seconds':>8} {'rows/s':>10}")
    for load in loads:
        table = load.feed.table_name
        begin = next(
            (
                at
                for msg, at in events.items()
                if msg.startswith("Loading ")
                and msg.endswith((f" into {table}", f" into {table} (truncate first)"))
            ),
            previous or run.started_at,
        )
        took = max((load.finished_at - begin).total_seconds(), 1e-6)
        previous = load.finished_at
        total += load.rows_read
        name = load.feed.name.lower().replace(" ", "_")
        print(f"{name:<22} {load.rows_read:>11,} {took:>8.2f} {load.rows_read / took:>10,.0f}")
    print(
        f"(rows written over all dumps: {summary.total_rows:,}; a run reads fewer when a full "
        "sync supersedes earlier dumps)"
    )
    print(f"whole run (listing, landing, loads, identity): {seconds:.2f} s", flush=True)
    return f"heap_rows={total} heap_seconds={seconds:.2f} heap_rows_per_s={total / seconds:.0f}"


if __name__ == "__main__":
    main()
