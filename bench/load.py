"""Benchmark the load path: Heap pageviews in snappy Avro on S3 -> open_reader -> load().

    .venv/bin/python bench/load.py [--rows 1000000] [--big-rows 5000000] [--repeat 3]

Measured in one run, back to back per repeat (the machine may be shared; best of the repeats):
  * baseline: plain ``COPY ... FROM STDIN (FORMAT csv)`` of the same rows from a local CSV file
    into an equivalent table (14 columns, event_id bigint PRIMARY KEY);
  * truncate-and-load of the rows into the domain table "Heap:Pageviews";
  * upsert of the same rows again, 10 % changed and 10 % duplicated (1.1 x rows read; the rate
    counts the distinct rows, as the baseline does);
  * ``pandas.DataFrame.to_sql`` (SQLAlchemy + psycopg) on a 100 k subset, its rate scaled;
  * peak RSS of each load, each in a fresh subprocess; truncate-and-load of --big-rows too.
Uses DATABASE_URL / S3_ENDPOINT_URL when set, else starts an embedded Postgres and moto.
The Avro parts are written with polars (fastavro writes ~15 k rows/s on a busy 2-core box) and
carry Heap's pageviews schema with every field a ["null", T] union (polars writes all columns
nullable; event_id is plain "long" in Heap's files -- same decoding work). The last line gives
the figures as name=value pairs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo import avro_schema, make_s3_client, table_columns  # noqa: E402

SCHEMA = "domain_bench"
TABLE = "Heap:Pageviews"
BASELINE = "copy_baseline"
BUCKET = "bench-heap"
PART_ROWS = 250_000  # Heap part files are bounded in size
BLOCK_ROWS = 4096  # ~200 KB Avro blocks, like Heap's
TO_SQL_ROWS = 100_000
PAGES = ["/", "/pricing", "/docs", "/blog/heap-connect", "/signup", "/cart", "/products/widget",
         "/products/gadget", "/about", "/checkout"]  # fmt: skip
TITLES = ["Example Shop — Home", "Pricing", "Documentation", "Heap Connect and you", "Sign up",
          "Your cart", "Widget", "Gadget", "About us", "Checkout"]  # fmt: skip
LIBS = [("web", "Mac OS X", "Desktop"), ("web", "Windows", "Desktop"), ("ios", "iOS", "Mobile"),
        ("android", "Android", "Mobile"), ("web", "iOS", "Tablet")]  # fmt: skip
COUNTRIES = ["United States", "Canada", "United Kingdom", "Germany", "France", "Japan", "Brazil"]
REFERRERS = ["https://www.google.com/", "https://news.ycombinator.com/", "https://t.co/x1", None,
             None, "https://www.linkedin.com/"]  # fmt: skip


# --- data ---------------------------------------------------------------------------------------


def pageviews(start: int, n: int, *, changed_every: int = 0) -> pa.Table:
    """Rows start..start+n-1 of a deterministic pageviews table; every ``changed_every``-th row
    (if set) has a revised title, as Heap re-delivers a changed event."""
    i = np.arange(start, start + n, dtype=np.int64)
    h = ((i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(1)).astype(np.int64)
    session_ms = 1_700_000_000_000 + (h >> 20) % (90 * 86_400_000)
    page = (h >> 8) % len(PAGES)
    lib = (h >> 12) % len(LIBS)
    titles = np.array(TITLES, dtype=object)[page]
    if changed_every:
        titles = titles.copy()
        changed = i % changed_every == 3
        titles[changed] = [f"{t} (rev 1)" for t in titles[changed]]
    ts = pa.timestamp("ms", tz="UTC")
    return pa.table(
        {
            "event_id": pa.array((1 << 40) + i * 7919),
            "user_id": pa.array((1 << 41) + (h >> 3) % 2_000_000),
            "session_id": pa.array((1 << 42) + i // 12),
            "time": pa.array(session_ms + (h >> 30) % 1_800_000).cast(ts),
            "session_time": pa.array(session_ms).cast(ts),
            "library": pa.array([LIBS[k][0] for k in lib]),
            "platform": pa.array([LIBS[k][1] for k in lib]),
            "device_type": pa.array([LIBS[k][2] for k in lib]),
            "country": pa.array(np.array(COUNTRIES)[(h >> 16) % len(COUNTRIES)]),
            "domain": pa.array(np.full(n, "www.example-shop.com")),
            "path": pa.array(np.array(PAGES)[page]),
            "query": pa.array(
                [f"?ref={x % 100}" if x % 3 == 0 else None for x in (h >> 40).tolist()]
            ),
            "title": pa.array(titles, pa.string()),
            "referrer": pa.array([REFERRERS[x] for x in ((h >> 52) % len(REFERRERS)).tolist()]),
        }
    )


def _long(n: int) -> bytes:
    z, out = (n << 1) ^ (n >> 63), bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def heap_schema() -> dict:
    schema = avro_schema("pageviews", False)
    for f in schema["fields"]:
        if not isinstance(f["type"], list):
            f["type"], f["default"] = ["null", f["type"]], None
    return schema


def avro_bytes(table: pa.Table) -> bytes:
    """A snappy Avro container of ``table`` with Heap's pageviews schema."""
    import polars as pl

    from feeds.readers.avro_blocks import AvroBlocks

    df = pl.from_arrow(table).with_columns(
        pl.col("time").dt.epoch("ms"), pl.col("session_time").dt.epoch("ms")
    )
    df = pl.concat(
        [df.slice(k, BLOCK_ROWS) for k in range(0, df.height, BLOCK_ROWS)], rechunk=False
    )
    buf = io.BytesIO()
    df.write_avro(buf, compression="snappy", name="Pageviews")
    data = buf.getvalue()
    header_read = AvroBlocks(io.BytesIO(data), "bench.avro").header
    meta, sync = dict(header_read.metadata), header_read.sync
    meta["avro.schema"] = json.dumps(heap_schema()).encode()
    header = bytearray(b"Obj\x01" + _long(len(meta)))
    for key, value in meta.items():
        header += _long(len(key)) + key.encode() + _long(len(value)) + value
    header += _long(0) + sync
    return bytes(header) + data[header_read.size :]


def upload(s3, prefix: str, parts: list[pa.Table]) -> int:
    for k, part in enumerate(parts):
        key = f"{prefix}/part-{k:05d}-bench-c000.avro"
        s3.put_object(Bucket=BUCKET, Key=key, Body=avro_bytes(part))
    return sum(p.num_rows for p in parts)


def dump(n: int, *, changed_every: int = 0) -> list[pa.Table]:
    return [
        pageviews(lo, min(PART_ROWS, n - lo), changed_every=changed_every)
        for lo in range(0, n, PART_ROWS)
    ]


# --- the loads, each in a fresh process ---------------------------------------------------------


def table_spec():
    from feeds.loading import FieldSpec, TableSpec

    types = {"event_id": "integer", "user_id": "integer", "session_id": "integer",
             "time": "datetime", "session_time": "datetime"}  # fmt: skip
    fields = [FieldSpec(c, c, types.get(c, "string")) for c in table_columns("pageviews")]
    return TableSpec(SCHEMA, TABLE, fields, primary_key=["event_id"], last_updated=None)


def s3_client(endpoint: str):
    return make_s3_client(
        endpoint,
        os.environ.get("AWS_ACCESS_KEY_ID", "bench"),
        os.environ.get("AWS_SECRET_ACCESS_KEY", "bench"),
    )


def child(prefix: str, truncate: bool, db: str, endpoint: str) -> None:
    """One load through the real path: S3 stream -> open_reader -> load. Prints JSON."""
    import psycopg

    from feeds.loader import SourceFile, load
    from feeds.readers import FileSettings, open_reader

    s3 = s3_client(endpoint)
    keys = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")["Contents"]
    )

    def opener(key: str):
        def batches():
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
            return open_reader(body, key, FileSettings("application/avro")).batches()

        return batches

    files = [SourceFile(key, opener(key)) for key in keys]
    with psycopg.connect(db, autocommit=True) as conn:
        started = time.perf_counter()
        result = load(conn, table_spec(), files, truncate=truncate)
        seconds = time.perf_counter() - started
    print(json.dumps({
        "seconds": seconds,
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "peak_rss_mb": peak_rss_mb(),
    }))  # fmt: skip


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries that over an exec from
    the parent, which holds the generated data."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(prefix: str, truncate: bool, db: str, endpoint: str) -> dict:
    cmd = [sys.executable, __file__, "--child", prefix, "--db", db, "--s3", endpoint]
    if truncate:
        cmd.append("--truncate")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- baselines -----------------------------------------------------------------------------------


def baseline_copy(conn, csv_path: Path) -> float:
    from psycopg import sql

    t = sql.Identifier(SCHEMA, BASELINE)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(t))
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (event_id bigint PRIMARY KEY, user_id bigint, session_id bigint, "
            "time timestamptz, session_time timestamptz, library text, platform text, "
            "device_type text, country text, domain text, path text, query text, title text, "
            "referrer text)"
        ).format(t)
    )
    conn.execute("SET TimeZone TO 'UTC'")
    started = time.perf_counter()
    with (
        conn.cursor() as cur,
        cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(t)) as copy,
        csv_path.open("rb") as f,
    ):
        while chunk := f.read(1 << 20):
            copy.write(chunk)
    seconds = time.perf_counter() - started
    conn.execute(sql.SQL("DROP TABLE {}").format(t))
    return seconds


def to_sql_seconds(db: str, table: pa.Table) -> float:
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.replace("postgresql://", "postgresql+psycopg://", 1))
    df = table.to_pandas()
    started = time.perf_counter()
    df.to_sql("to_sql_baseline", engine, schema=SCHEMA, if_exists="replace", index=False)
    seconds = time.perf_counter() - started
    with engine.begin() as c:
        c.execute(sqlalchemy.text("DROP TABLE domain_bench.to_sql_baseline"))
    engine.dispose()
    return seconds


def write_csv(parts: list[pa.Table], path: Path) -> None:
    with pa_csv.CSVWriter(path, parts[0].schema.remove_metadata(), write_options=pa_csv.WriteOptions(include_header=False)) as w:  # fmt: skip
        for part in parts:
            for col in ("time", "session_time"):  # naive UTC: Arrow writes zoned times slowly
                i = part.schema.get_field_index(col)
                part = part.set_column(i, col, part[col].cast(pa.timestamp("ms")).cast(part[col].type))  # fmt: skip
            w.write_table(part)


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--big-rows", type=int, default=5_000_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child")
    p.add_argument("--truncate", action="store_true")
    p.add_argument("--db")
    p.add_argument("--s3")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the services on kill
    if args.child:
        child(args.child, args.truncate, args.db, args.s3)
        return

    import psycopg

    from amperity_sources.embedded import EmbeddedPostgres, EmbeddedS3, free_port

    stack = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        try:
            db = os.environ.get("DATABASE_URL")
            if not db:
                stack.append(EmbeddedPostgres(Path(tmp)))
                db = stack[-1].start("bench_load")
            endpoint = os.environ.get("S3_ENDPOINT_URL")
            if not endpoint:
                stack.append(EmbeddedS3(Path(tmp), free_port()))
                endpoint = stack[-1].start()
            _bench(args, db, endpoint, Path(tmp), psycopg)
        finally:
            for service in reversed(stack):
                service.stop()


def _bench(args, db: str, endpoint: str, tmp: Path, psycopg) -> None:
    from psycopg import sql

    n, big = args.rows, args.big_rows
    s3 = s3_client(endpoint)
    try:
        s3.create_bucket(Bucket=BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    started = time.perf_counter()
    first = dump(n)
    upload(s3, "sync_1/pageviews", first)
    # The same rows again, 10 % changed; then 10 % of them re-sent (duplicates) in a last part.
    again = dump(n, changed_every=10)
    dups = pa.concat_tables(again).take(np.arange(7, n, 10))  # re-sent, identical
    upsert_rows = upload(s3, "sync_2/pageviews", again + [dups])
    csv_path = tmp / "pageviews.csv"
    write_csv(first, csv_path)
    print(
        f"data: {n:,} rows in {len(first)} snappy Avro parts ({upsert_rows:,} for the upsert, "
        f"{dups.num_rows:,} duplicates), CSV {csv_path.stat().st_size / 2**20:.0f} MB; "
        f"prepared in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    with psycopg.connect(db, autocommit=True) as conn:
        target = sql.Identifier(SCHEMA, TABLE)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
        copies, loads, upserts = [], [], []
        for r in range(args.repeat):
            copies.append(baseline_copy(conn, csv_path))
            loads.append(run_child("sync_1/pageviews", True, db, endpoint))
            upserts.append(run_child("sync_2/pageviews", False, db, endpoint))
            print(
                f"repeat {r + 1}: COPY csv {n / copies[-1]:>9,.0f} rows/s | "
                f"truncate-and-load {n / loads[-1]['seconds']:>9,.0f} rows/s "
                f"(rss {loads[-1]['peak_rss_mb']:.0f} MB) | "
                f"upsert {n / upserts[-1]['seconds']:>9,.0f} rows/s "
                f"(rss {upserts[-1]['peak_rss_mb']:.0f} MB, inserted={upserts[-1]['inserted']:,} "
                f"updated={upserts[-1]['updated']:,} duplicates={upserts[-1]['duplicates']:,})",
                flush=True,
            )
        changed = conn.execute(
            sql.SQL(
                "SELECT count(*), count(*) FILTER (WHERE title LIKE '%%(rev 1)') FROM {}"
            ).format(target)
        ).fetchone()
        print(f"after the upsert: {changed[0]:,} rows, {changed[1]:,} changed", flush=True)
        sub = pa.concat_tables(first).slice(0, min(TO_SQL_ROWS, n))
        to_sql_s = to_sql_seconds(db, sub)
        to_sql_rate = sub.num_rows / to_sql_s
        print(
            f"pandas.to_sql: {sub.num_rows:,} rows in {to_sql_s:.1f} s = {to_sql_rate:,.0f} rows/s "
            f"(measured on the {sub.num_rows:,}-row subset; rate scaled to {n:,} rows)",
            flush=True,
        )
        del first, again, dups, sub
        for lo in range(0, big, PART_ROWS):
            k = lo // PART_ROWS
            part = pageviews(lo, min(PART_ROWS, big - lo))
            s3.put_object(
                Bucket=BUCKET,
                Key=f"sync_big/pageviews/part-{k:05d}-bench-c000.avro",
                Body=avro_bytes(part),
            )
        big_load = run_child("sync_big/pageviews", True, db, endpoint)
        print(
            f"truncate-and-load {big:,} rows: {big / big_load['seconds']:,.0f} rows/s, "
            f"peak rss {big_load['peak_rss_mb']:.0f} MB",
            flush=True,
        )
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
    copy_rate = n / min(copies)
    load_rate = n / min(x["seconds"] for x in loads)
    upsert_rate = n / min(x["seconds"] for x in upserts)
    print(
        f"best of {args.repeat}: COPY csv {copy_rate:,.0f} rows/s (median "
        f"{n / statistics.median(copies):,.0f}), truncate-and-load {load_rate:,.0f}, "
        f"upsert {upsert_rate:,.0f}, to_sql {to_sql_rate:,.0f} rows/s"
    )
    rss_1m = max(x["peak_rss_mb"] for x in loads)
    print(
        f"load_ratio={load_rate / copy_rate:.2f} upsert_ratio={upsert_rate / copy_rate:.2f} "
        f"to_sql_speedup={load_rate / to_sql_rate:.1f} peak_rss_mb_1m={rss_1m:.0f} "
        f"peak_rss_mb_5m={big_load['peak_rss_mb']:.0f}"
    )


if __name__ == "__main__":
    main()
