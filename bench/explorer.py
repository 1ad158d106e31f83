"""Benchmark the Data Explorer: a page of a 10-million-row table vs a page of a 1,000-row one.

    .venv/bin/python bench/explorer.py [N]      (default 10_000_000)

Uses DATABASE_URL (else a throw-away embedded Postgres) directly, without
Django. Builds both tables through the loader's ensure_table (so they look like any domain
table: "_pk" text primary key), fills them with INSERT ... SELECT generate_series, then times
opening page 1 and page 50 (following Next) with feeds.explorer.fetch_page, by "_pk" and by
another column, then again by that column once its sort index exists (sort_index_create, as
the explorer's "Index this column" button). Keyset pagination should make the big table's
pages as fast as the small's. The last line is machine-readable.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amperity_sources.embedded import database_url_or_embedded  # noqa: E402
from feeds import explorer  # noqa: E402
from feeds.loading import FieldSpec, TableSpec, drop_table, ensure_table  # noqa: E402
from feeds.loading.indexes import sort_index_create  # noqa: E402

SCHEMA = "domain_bench"
REPEATS = 11
PAGE = 20  # rows per page: page 50 is the last page of the 1,000-row table


def spec(table: str) -> TableSpec:
    return TableSpec(
        schema=SCHEMA,
        table=table,
        fields=[
            FieldSpec("id", "id", "integer", required=True),
            FieldSpec("email", "email", "string"),
            FieldSpec("amount", "amount", "float"),
            FieldSpec("joined", "joined", "datetime"),
        ],
        primary_key=["id"],
    )


def build(conn: psycopg.Connection, table: str, rows: int) -> float:
    s = spec(table)
    drop_table(conn, s)
    ensure_table(conn, s)
    target = sql.SQL("{}.{}").format(sql.Identifier(SCHEMA), sql.Identifier(table))
    start = time.perf_counter()
    with conn.transaction():
        # Bulk fill without the index, then build it once: minutes faster than row-by-row.
        pkey = conn.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            (f'"{SCHEMA}"."{table}"',),
        ).fetchone()[0]
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(pkey))
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (id, email, amount, joined, _updated, _pk) "
                "SELECT g, 'user' || g || '@example.com', (g %% 1000) * 0.25, "
                "timestamptz '2020-01-01' + g * interval '1 second', now(), g::text "
                "FROM generate_series(1, %s) g"
            ).format(target),
            (rows,),
        )
        conn.execute(
            sql.SQL('ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ("_pk")').format(
                target, sql.Identifier(pkey)
            )
        )
    conn.execute(sql.SQL("ANALYZE {}").format(target))
    return time.perf_counter() - start


def time_pages(
    conn: psycopg.Connection,
    table: str,
    *,
    sort: str = explorer.PK,
    last: int = 50,
    repeats: int = REPEATS,
) -> tuple[float, float]:
    """(ms for page 1, ms for page ``last`` reached by following Next), medians."""
    firsts, lasts = [], []
    for _ in range(repeats):
        after = None
        for n in range(1, last + 1):
            start = time.perf_counter()
            page = explorer.fetch_page(conn, SCHEMA, table, sort=sort, after=after, limit=PAGE)
            elapsed = (time.perf_counter() - start) * 1000
            if n == 1:
                firsts.append(elapsed)
            after = page.next_after
        lasts.append(elapsed)
        assert len(page.rows) == PAGE, f"page {last} should be full"
    return statistics.median(firsts), statistics.median(lasts)


def main() -> None:
    big_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    with database_url_or_embedded() as url, psycopg.connect(url, autocommit=True) as conn:
        big, small = "Bench:Explorer10M", "Bench:Explorer1k"
        print(f"building {big} ({big_rows:,} rows) ...", flush=True)
        print(f"  built in {build(conn, big, big_rows):.1f} s")
        build(conn, small, 1_000)
        results = {}
        for label, table in (("10m", big), ("1k", small)):
            p1, p50 = time_pages(conn, table)
            # Another sort column without an index: a whole-table top-N sort per page.
            s1, s2 = time_pages(conn, table, sort="joined", last=2, repeats=3)
            rows, estimated = explorer.row_count(conn, SCHEMA, table)
            count = f"{'~' if estimated else ''}{rows:,}"
            print(f"{table:22} rows {count:>12}  by _pk: page 1 {p1:6.2f} ms, page 50 {p50:6.2f} ms;"
                  f"  by joined: page 1 {s1:7.2f} ms, page 2 {s2:7.2f} ms")  # fmt: skip
            results[label] = max(p1, p50)
            start = time.perf_counter()
            sort_index_create(conn, SCHEMA, table, "joined")
            built = time.perf_counter() - start
            i1, i50 = time_pages(conn, table, sort="joined")
            print(f"{'':22} sort index built in {built:.1f} s;{'':14}"
                  f"  by joined: page 1 {i1:7.2f} ms, page 50 {i50:7.2f} ms")  # fmt: skip
            results[f"sorted_{label}"] = max(i1, i50)
        for table in (big, small):
            if not os.environ.get("BENCH_KEEP"):
                drop_table(conn, spec(table))
    ratio = results["10m"] / results["1k"]
    print(
        f"explorer_page_ms_10m={results['10m']:.2f} explorer_page_ms_1k={results['1k']:.2f} "
        f"explorer_ratio={ratio:.2f} explorer_sorted_page_ms_10m={results['sorted_10m']:.2f}"
    )


if __name__ == "__main__":
    main()
