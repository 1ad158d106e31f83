"""Sort indexes for the Data Explorer: (column, "_pk") B-trees that make sorted pages cheap.

Built CONCURRENTLY (loads and readers go on meanwhile) on the worker, never in a request; the
build's progress is Postgres' own (pg_stat_progress_create_index). The truncate-and-load swap
keeps such indexes (swap.py rebuilds plain B-tree indexes on the new table).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import psycopg
from psycopg import sql

from .ddl import qualified

PK = "_pk"
MAX_IDENTIFIER_BYTES = 63


class SortIndexError(ValueError):
    """The column cannot be indexed for sorting; the message names it."""


@dataclass(frozen=True)
class IndexProgress:
    phase: str  # Postgres' words, e.g. "building index: scanning table"
    done: int
    total: int

    @property
    def percent(self) -> int | None:
        return int(self.done * 100 / self.total) if self.total else None


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped",
        (qualified(schema, table).as_string(conn),),
    ).fetchall()
    return {r[0] for r in rows}


def sort_index_name(table: str, column: str) -> str:
    """``<table>__sort__<column>``, shortened with a hash when longer than Postgres' 63 bytes."""
    name = f"{table}__sort__{column}"
    if len(name.encode()) <= MAX_IDENTIFIER_BYTES:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
    head = name.encode()[: MAX_IDENTIFIER_BYTES - len(digest) - 1].decode(errors="ignore")
    return f"{head}_{digest}"


def sort_index_exists(conn: psycopg.Connection, schema: str, table: str, column: str) -> bool:
    """True when a usable B-tree index of the table leads with ``column``."""
    found = conn.execute(
        """
        SELECT 1 FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_am am ON am.oid = ic.relam
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
        WHERE n.nspname = %s AND c.relname = %s AND a.attname = %s
          AND am.amname = 'btree' AND i.indisvalid AND i.indpred IS NULL
        LIMIT 1
        """,
        (schema, table, column),
    ).fetchone()
    return found is not None


def sort_index_create(conn: psycopg.Connection, schema: str, table: str, column: str) -> str:
    """Index (column, "_pk") so pages sorted by ``column`` are index range scans; returns the
    index name. CONCURRENTLY: loads and readers keep going meanwhile, so ``conn`` must be in
    autocommit. A failed earlier attempt leaves an invalid index of that name: rebuilt."""
    if not conn.autocommit:
        raise ValueError("sort_index_create needs an autocommit connection")
    sort_index_check(conn, schema, table, column)
    name = sort_index_name(table, column)
    invalid = conn.execute(
        """
        SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        JOIN pg_namespace n ON n.oid = ic.relnamespace
        WHERE n.nspname = %s AND ic.relname = %s AND NOT i.indisvalid
        """,
        (schema, name),
    ).fetchone()
    if invalid:
        conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(qualified(schema, name))
        )
    try:
        conn.execute(
            sql.SQL("CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} ({}, {})").format(
                sql.Identifier(name),
                qualified(schema, table),
                sql.Identifier(column),
                sql.Identifier(PK),
            )  # fmt: skip
        )
    except psycopg.errors.UndefinedObject as exc:  # e.g. a json column: no B-tree ordering
        raise SortIndexError(f'The column "{column}" cannot be sorted by an index.') from exc
    return name


def sort_index_check(conn: psycopg.Connection, schema: str, table: str, column: str) -> None:
    """Raise SortIndexError unless ``column`` can be indexed for sorting."""
    known = _columns(conn, schema, table)
    if PK not in known:
        raise SortIndexError(f'The table {table} has no "_pk" column: it cannot be indexed here.')
    if column not in known or column == PK:
        raise SortIndexError(f'There is no column "{column}" to index for sorting.')


def sort_index_progress(conn: psycopg.Connection, schema: str, table: str) -> IndexProgress | None:
    """How far an index build on the table has come, while one runs."""
    row = conn.execute(
        """
        SELECT phase,
               CASE WHEN tuples_total > 0 THEN tuples_done ELSE blocks_done END,
               CASE WHEN tuples_total > 0 THEN tuples_total ELSE blocks_total END
        FROM pg_stat_progress_create_index WHERE relid = to_regclass(%s)
        """,
        (qualified(schema, table).as_string(conn),),
    ).fetchone()
    return IndexProgress(row[0], row[1] or 0, row[2] or 0) if row else None
