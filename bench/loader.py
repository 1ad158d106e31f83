"""Benchmark the loading engine: a fresh load of N rows, then an upsert with 50 % overlap.

    .venv/bin/python bench/loader.py [N]      (default 1_000_000)

Uses DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) directly, without
Django. Rows are generated in memory as pyarrow batches of strings, like a CSV reader's, with
one typed (int64/timestamp) variant for the Avro/Parquet path. Prints rows/s per step and peak
RSS; the last line is machine-readable.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feeds.loading import FieldSpec, SourceFile, TableSpec, drop_table, load  # noqa: E402

BATCH = 65_536
SCHEMA = "domain_bench"


def spec(table: str) -> TableSpec:
    return TableSpec(
        schema=SCHEMA,
        table=table,
        fields=[
            FieldSpec("user_id", "user_id", "integer", required=True),
            FieldSpec("email", "email", "string"),
            FieldSpec("name", "name", "string"),
            FieldSpec("joindate", "joindate", "datetime"),
            FieldSpec("last_modified", "last_modified", "datetime"),
            FieldSpec("score", "score", "float"),
            FieldSpec("visits", "visits", "integer"),
            FieldSpec("birthdate", "birthdate", "date"),
            FieldSpec("active", "active", "boolean"),
            FieldSpec("balance", "balance", "decimal", precision=12, scale=2),
        ],
        primary_key=["user_id"],
        last_updated=None,
    )


def batches(start: int, n: int, typed: bool):
    """n rows with user_id start..start+n-1, in BATCH-row record batches."""
    rng = np.random.default_rng(start)
    for lo in range(start, start + n, BATCH):
        hi = min(lo + BATCH, start + n)
        ids = np.arange(lo, hi, dtype=np.int64)
        k = len(ids)
        secs = 1_600_000_000 + rng.integers(0, 100_000_000, k)
        ts = secs.astype("datetime64[s]").astype("datetime64[us]")
        days = rng.integers(0, 20_000, k).astype("datetime64[D]")
        score = rng.random(k) * 100
        visits = rng.integers(0, 10_000, k)
        active = rng.random(k) < 0.5
        cents = rng.integers(0, 10_000_000, k)
        id_text = ids.astype(str)
        cols = {
            "email": pa.array(np.char.add(np.char.add("user", id_text), "@example.com")),
            "name": pa.array(np.char.add("Name ", id_text)),
        }
        if typed:
            cols |= {
                "user_id": pa.array(ids),
                "joindate": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "last_modified": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "score": pa.array(score),
                "visits": pa.array(visits),
                "birthdate": pa.array(days, pa.date32()),
                "active": pa.array(active),
                "balance": pa.array(cents / 100),
            }
        else:
            iso = np.datetime_as_string(ts, unit="s")
            cols |= {
                "user_id": pa.array(id_text),
                "joindate": pa.array(iso),
                "last_modified": pa.array(np.char.add(iso, "Z")),
                "score": pa.array(np.char.mod("%.4f", score)),
                "visits": pa.array(visits.astype(str)),
                "birthdate": pa.array(np.datetime_as_string(days)),
                "active": pa.array(np.where(active, "true", "false")),
                "balance": pa.array(np.char.mod("%.2f", cents / 100)),
            }
        yield pa.RecordBatch.from_pydict(cols)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def step(conn, label: str, table_spec: TableSpec, files: list[SourceFile], rows: int, **kw):
    started = time.perf_counter()
    result = load(conn, table_spec, files, **kw)
    seconds = time.perf_counter() - started
    rate = rows / seconds
    print(
        f"{label:<34} {rows:>10,} rows {seconds:7.2f} s {rate:>10,.0f} rows/s  "
        f"inserted={result.inserted:,} updated={result.updated:,} rejected={result.rejected:,}  "
        f"peak_rss={peak_rss_mb():.0f} MB",
        flush=True,
    )
    return seconds, rate


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        s = spec("Bench:Users")
        typed = spec("Bench:UsersTyped")
        for t in (s, typed):
            drop_table(conn, t)
        print(f"loader bench: {n:,} rows, 10 columns, batches of {BATCH:,}", flush=True)
        # Generated up front so the timings measure the loader, not the generator.
        text_rows = list(batches(0, n, typed=False))
        overlap_rows = list(batches(n // 2, n, typed=False))
        typed_rows = list(batches(0, n, typed=True))
        baseline = rss_mb()
        print(f"generated in memory; rss before loading {baseline:.0f} MB", flush=True)
        load_s, load_rate = step(
            conn,
            "load (CSV strings, empty table)",
            s,
            [SourceFile("users-1.csv", text_rows)],
            n,
        )
        _, upsert_rate = step(
            conn,
            "upsert (50% overlap)",
            s,
            [SourceFile("users-2.csv", overlap_rows)],
            n,
        )
        step(
            conn,
            "truncate + load",
            s,
            [SourceFile("users-3.csv", text_rows)],
            n,
            truncate=True,
        )
        step(
            conn,
            "load (typed, Avro/Parquet-like)",
            typed,
            [SourceFile("users.avro", typed_rows)],
            n,
        )
        for t in (s, typed):
            drop_table(conn, t)
    print(
        f"load_rows={n} load_seconds={load_s:.2f} load_rows_per_s={load_rate:.0f} "
        f"upsert_rows_per_s={upsert_rate:.0f} peak_rss_mb={peak_rss_mb():.0f} "
        f"loader_rss_mb={peak_rss_mb() - baseline:.0f}"
    )


if __name__ == "__main__":
    main()
