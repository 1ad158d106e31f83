"""Benchmark the bounds: decompression bombs through a real courier run must be refused fast.

    python bench/bounds.py

Uploads to S3_ENDPOINT_URL (whatever is missing -- Postgres, Redis, S3 -- is started by the
launcher's embedded stack, as bench/heap.py does) three hostile files, each made without ever
holding or writing its decompressed bytes:

  * export.csv.gz   1 GiB of CSV rows, gzip (about 1 MB compressed)
  * export.zip      one 1 GiB CSV member, deflate (about 1 MB compressed)
  * parts.zip       10,000 small CSV members

For each it creates a courier and a feed through the product's models, runs the courier in this
process (couriers.pipeline.courier_run_execute) and measures the seconds until the run ends
(it must fail, naming the setting), the peak RSS of this process meanwhile, and the disk used
meanwhile: this process's temporary files (TMPDIR points at a fresh directory; deleted-but-open
spool files are counted through /proc/self/fd) plus the growth of the Postgres data directory
(embedded stack; with an external DATABASE_URL, pg_database_size). Each bomb must be refused
within 10 s, 300 MB RSS and 100 MB of disk. The last line gives the worst figures.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GiB = 1024**3
MiB = 1024**2
ROW = b"1,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
LIMITS = {"seconds": 10.0, "rss_mb": 300.0, "disk_mb": 100.0}
CSV_LAND_AS = {"file/tag": "bomb", "file/content-type": "text/csv", "file/header-rows": 1}


# ---------------------------------------------------------------- bombs, made in memory chunks
def rows(size: int) -> Iterator[bytes]:
    yield b"id,name\n"
    chunk = ROW * (MiB // len(ROW))
    left = size
    while left > 0:
        part = chunk[:left]
        left -= len(part)
        yield part


def gzip_bomb(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join([packer.compress(part) for part in rows(size)] + [packer.flush()])


def zip_bomb(size: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("data.csv", "w", force_zip64=True) as member:
            for part in rows(size):
                member.write(part)
    return out.getvalue()


def many_members(count: int) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i in range(count):
            archive.writestr(f"part-{i:05d}.csv", b"id,name\n%d,Ann\n" % i)
    return out.getvalue()


# ---------------------------------------------------------------- measuring
def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass  # removed while walking
    return total


def open_temp_bytes(tmp: Path) -> int:
    """Temporary files this process holds open, deleted ones included (spools, gpg output)."""
    total = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(tmp)) and target.endswith("(deleted)"):
                total += os.fstat(int(fd)).st_blocks * 512
        except OSError:
            pass
    return total


class Sampler:
    """Samples RSS and disk use in a thread while a run goes on; keeps the peaks."""

    def __init__(self, tmp: Path, pg_bytes) -> None:
        self.tmp, self.pg_bytes = tmp, pg_bytes
        self.pg_before = pg_bytes()
        self.rss_before = self.peak_rss = rss_mb()
        self.peak_disk = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        self.peak_rss = max(self.peak_rss, rss_mb())
        disk = tree_bytes(self.tmp) + open_temp_bytes(self.tmp)
        disk += max(0, self.pg_bytes() - self.pg_before)
        self.peak_disk = max(self.peak_disk, disk)

    def _loop(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


# ---------------------------------------------------------------- the bench
def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bounds-bench-tmp-"))
    data_dir = Path(tempfile.mkdtemp(prefix="bounds-bench-"))
    from amperity_sources.launcher import Stack

    stack = Stack(data_dir, fixed_ports=False)
    os.environ.update(stack.start())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amperity_sources.settings")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    pgdata = data_dir / "postgres"
    try:
        tempfile.tempdir = str(tmp)  # this process's spools land where they can be measured
        last_line = run_bench(tmp, pgdata if pgdata.is_dir() else None)
    finally:
        stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(last_line, flush=True)


def run_bench(tmp: Path, pgdata: Path | None) -> str:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    from django.db import connection

    from amperity_sources.db import domain_connection
    from couriers.models import Courier, CourierRun
    from couriers.pipeline import courier_run_execute
    from couriers.services.runs import courier_run_start
    from credentials.models import Credential
    from credentials.services import credential_set_secrets
    from demo import ensure_bucket, make_s3_client
    from feeds.loader import ensure_table
    from feeds.models import DataSource, Feed, FeedField
    from feeds.services import feed_delete, feed_table_spec

    def pg_bytes() -> int:
        if pgdata is not None:
            return tree_bytes(pgdata)
        with connection.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return cur.fetchone()[0]

    endpoint = os.environ["S3_ENDPOINT_URL"]
    key = os.environ.get("S3_ACCESS_KEY_ID", "test")
    secret = os.environ.get("S3_SECRET_ACCESS_KEY", "test-secret")
    s3 = make_s3_client(endpoint, key, secret)
    tag = uuid.uuid4().hex[:6]
    bucket = f"bounds-bench-{tag}"
    ensure_bucket(s3, bucket)
    credential = Credential(name=f"Bounds bench {tag}", kind=Credential.Kind.IAM,
                            endpoint_url=endpoint)  # fmt: skip
    credential_set_secrets(credential, {"access_key_id": key, "secret_access_key": secret})
    credential.save()
    source, _ = DataSource.objects.get_or_create(name=f"BoundsBench{tag}")

    bombs = [
        ("gzip_1gib", "bomb/export.csv.gz", "file", lambda: gzip_bomb(GiB)),
        ("zip_1gib", "bomb/export.zip", "archive", lambda: zip_bomb(GiB)),
        ("zip_10000_members", "bomb/parts.zip", "archive", lambda: many_members(10_000)),
    ]
    results = []
    print(
        f"{'bomb':<20} {'upload':>9} {'seconds':>8} {'rss MB':>7} {'(before)':>8} {'disk MB':>8}"
        "  message"
    )
    for label, object_key, kind, make in bombs:
        body = make()
        s3.put_object(Bucket=bucket, Key=object_key, Body=body)
        del body
        feed = Feed.objects.create(data_source=source, name=label, primary_key=["id"],
                                   status=Feed.Status.ACTIVE)  # fmt: skip
        FeedField.objects.bulk_create([
            FeedField(feed=feed, position=0, incoming="id", name="id", type="integer"),
            FeedField(feed=feed, position=1, incoming="name", name="name", type="string"),
        ])  # fmt: skip
        with domain_connection() as conn:
            ensure_table(conn, feed_table_spec(feed))
        entity = {"object/type": kind, "object/file-pattern": f"'{object_key}'"}
        if kind == "file":
            entity["object/land-as"] = CSV_LAND_AS
        else:
            entity["archive/contents"] = {"*.csv": {"subobject/land-as": CSV_LAND_AS}}
        courier = Courier.objects.create(
            name=f"Bounds {label} {tag}", credential=credential, bucket=bucket,
            entities=[entity], load_operations={feed.pk: [{"type": "load", "file": "bomb"}]},
        )  # fmt: skip
        size = s3.head_object(Bucket=bucket, Key=object_key)["ContentLength"]
        run = courier_run_start(courier=courier, mode=CourierRun.Mode.ALL, queue=False)
        with Sampler(tmp, pg_bytes) as sampler:
            started = time.perf_counter()
            courier_run_execute(run.pk)
            seconds = time.perf_counter() - started
        run.refresh_from_db()
        disk_mb = sampler.peak_disk / MiB
        results.append((label, seconds, sampler.peak_rss, disk_mb, run))
        print(
            f"{label:<20} {size / MiB:>7.1f}MB {seconds:>8.2f} {sampler.peak_rss:>7.0f} "
            f"{sampler.rss_before:>8.0f} {disk_mb:>8.1f}  {run.status}: {run.error[:160]}",
            flush=True,
        )
        feed_delete(feed=feed)
    worst = {
        "seconds": max(r[1] for r in results),
        "rss_mb": max(r[2] for r in results),
        "disk_mb": max(r[3] for r in results),
    }
    problems = [
        f"{r[0]} was not refused ({r[4].status})" for r in results if r[4].status != "failed"
    ]
    problems += [f"{name} {worst[name]:.1f} over {limit}" for name, limit in LIMITS.items()
                 if worst[name] > limit]  # fmt: skip
    print("PASS" if not problems else "FAIL: " + "; ".join(problems))
    return (
        f"bomb_seconds_max={worst['seconds']:.2f} bomb_rss_mb_max={worst['rss_mb']:.0f} "
        f"bomb_disk_mb_max={worst['disk_mb']:.1f}"
    )


if __name__ == "__main__":
    main()
