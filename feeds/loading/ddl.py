"""Create and evolve domain tables. Every identifier goes through psycopg.sql.Identifier."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg import sql

from .spec import FILE_DATE_COLUMN, LOADED_AT_COLUMN, PK_COLUMN, UPDATED_COLUMN, TableSpec

HIDDEN_COLUMNS = {FILE_DATE_COLUMN}  # added to older tables without telling the user


def fetch_row(
    conn: psycopg.Connection, query: sql.Composable | str, params: Sequence[Any] | None = None
) -> tuple[Any, ...]:
    """The row a query always returns (an aggregate, a lookup that must match)."""
    row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
    if row is None:
        raise LookupError("the query returned no row")
    return row


def qualified(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


LOCK_POLL_SECONDS = 1.0


def lock_table_name(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    on_wait: Callable[[float], None] | None = None,
) -> None:
    """Serialise DDL and loads of one table (transaction-scoped advisory lock).

    With ``on_wait``, the lock is tried instead of waited for: while another load holds it,
    ``on_wait(seconds waited)`` is called about every second (it may say so, or raise)."""
    key = (f"{schema}\x1f{table}",)
    if on_wait is None:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7091))", key)
        return
    started = time.monotonic()
    while not fetch_row(conn, "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 7091))", key)[
        0
    ]:
        on_wait(time.monotonic() - started)
        time.sleep(LOCK_POLL_SECONDS)


def existing_columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str] | None:
    """{column: format_type} of the table, or None if it does not exist."""
    rows = conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
        ORDER BY a.attnum
        """,
        (schema, table),
    ).fetchall()
    if not rows:
        return None
    return {name: typ for name, typ in rows if name is not None}


def table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return existing_columns(conn, schema, table) is not None


def _column_defs(spec: TableSpec) -> list[tuple[str, str]]:
    cols = [(f.name, f.pg_type()) for f in spec.fields]
    if spec.last_updated is None:
        cols.append((UPDATED_COLUMN, "timestamp with time zone"))
        cols.append((FILE_DATE_COLUMN, "date"))
    return cols


def ensure_table(
    conn: psycopg.Connection,
    spec: TableSpec,
    on_lock_wait: Callable[[float], None] | None = None,
) -> list[str]:
    """Create the schema and table if missing, add new columns, change changed types.

    Columns no longer in the spec are kept (their data is not thrown away). Returns a
    sentence per change made, empty when the table already matched.
    """
    spec.validate()
    target = qualified(spec.schema, spec.table)
    changes: list[str] = []
    with conn.transaction():
        lock_table_name(conn, spec.schema, spec.table, on_lock_wait)
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(spec.schema)))
        columns = existing_columns(conn, spec.schema, spec.table)
        if columns is None:
            defs = [
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(typ))
                for name, typ in _column_defs(spec)
            ]
            defs.append(
                sql.SQL('{} text COLLATE "C" PRIMARY KEY').format(sql.Identifier(PK_COLUMN))
            )
            defs.append(
                sql.SQL("{} timestamp with time zone NOT NULL DEFAULT now()").format(
                    sql.Identifier(LOADED_AT_COLUMN)
                )
            )
            conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(defs)))
            changes.append(f"created table {spec.schema}.{spec.table}")
            return changes
        for name, typ in _column_defs(spec):
            col = sql.Identifier(name)
            if name not in columns:
                conn.execute(
                    sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(target, col, sql.SQL(typ))
                )
                if name not in HIDDEN_COLUMNS:
                    changes.append(f"added column {name} ({typ})")
            elif columns[name] != typ:
                # Fails (and rolls back) if existing values cannot be cast: the caller reports it.
                conn.execute(
                    sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {} USING {}::{}").format(
                        target, col, sql.SQL(typ), col, sql.SQL(typ)
                    )
                )
                changes.append(f"changed column {name} from {columns[name]} to {typ}")
    return changes


def drop_table(conn: psycopg.Connection, spec: TableSpec) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(qualified(spec.schema, spec.table)))


def truncate_table(conn: psycopg.Connection, spec: TableSpec) -> None:
    with conn.transaction():
        if table_exists(conn, spec.schema, spec.table):
            conn.execute(sql.SQL("TRUNCATE {}").format(qualified(spec.schema, spec.table)))
