"""Upsert by rebuilding: for a load that touches a large share of the table.

ON CONFLICT DO UPDATE costs a key lookup, a new row version and an index entry per row; for
a re-delivery of most of a table that is several times slower than writing the table afresh.
So when the staged rows are at least REBUILD_SHARE of the table (and the table can be swapped,
see swap.py, which also rebuilds its plain indexes such as the Data Explorer's sort indexes)
the merge writes a new table instead -- old rows not in the load, plus the load's latest rows
(old rows kept where the table has a newer last-updated value) -- builds its key and swaps it
in, in the load's transaction. Same result, same counts as the in-place merge.
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import sql

from .ddl import existing_columns, fetch_row, qualified
from .spec import FILE_DATE_COLUMN, LOADED_AT_COLUMN, PK_COLUMN, UPDATED_COLUMN, TableSpec
from .swap import create_shadow, finish_swap

REBUILD_SHARE = 0.25


def should_rebuild(conn: psycopg.Connection, spec: TableSpec, staged: int) -> bool:
    """True when ``staged`` rows are a large share of the table (by the planner's estimate,
    which the primary key build of a swapped-in table keeps current)."""
    estimate = conn.execute(
        """
        SELECT c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = %s
        """,
        (spec.schema, spec.table),
    ).fetchone()
    return estimate is not None and 0 <= estimate[0] <= staged / REBUILD_SHARE


def rebuild_merge(
    conn: psycopg.Connection,
    spec: TableSpec,
    src_query: sql.Composable,
    field_sources: dict[str, sql.Identifier],
    kept: frozenset[str] = frozenset(),
) -> tuple[int, int, int]:
    """Merge the rows of ``src_query`` (one latest row per "_pk", columns named by
    ``field_sources``: field name -> source column, plus "_pk") by rebuilding the table.
    Fields in ``kept`` (their column is absent from the files) keep their stored values; with
    the generated updated field, "_file_date" must be among the sources.

    Returns (inserted, updated, distinct source rows)."""
    target = qualified(spec.schema, spec.table)
    src = sql.Identifier(f"_src_{uuid.uuid4().hex}")
    pk = sql.Identifier(PK_COLUMN)
    conn.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS {}").format(src, src_query))
    # The load wins unless the table has a newer version: by the last-updated field, or
    # with the generated one by file date (as merge.py's ON CONFLICT ... WHERE).
    newest = spec.last_updated or FILE_DATE_COLUMN
    newer = sql.SQL("(t.{0} IS NULL OR s.{1} >= t.{0})").format(
        sql.Identifier(newest), field_sources[newest]
    )
    inserted, updated, distinct = fetch_row(
        conn,
        sql.SQL(
            "SELECT count(*) FILTER (WHERE t.{pk} IS NULL), "
            "count(*) FILTER (WHERE t.{pk} IS NOT NULL AND {newer}), count(*) "
            'FROM {src} s LEFT JOIN {target} t ON t.{pk} = s.{pk} COLLATE "C"'
        ).format(pk=pk, newer=newer, src=src, target=target),
    )

    take = sql.SQL("(s.{pk} IS NOT NULL AND (t.{pk} IS NULL OR {newer}))").format(
        pk=pk, newer=newer
    )
    names, values = [], []
    for column in existing_columns(conn, spec.schema, spec.table) or {}:
        col = sql.Identifier(column)
        if column in field_sources and column not in kept:
            value = sql.SQL("CASE WHEN {} THEN s.{} ELSE t.{} END").format(
                take, field_sources[column], col
            )
        elif column == PK_COLUMN:
            value = sql.SQL("COALESCE(s.{0}, t.{0})").format(pk)
        elif column == LOADED_AT_COLUMN or (column == UPDATED_COLUMN and spec.last_updated is None):
            value = sql.SQL("CASE WHEN {} THEN now() ELSE t.{} END").format(take, col)
        else:  # a column no longer in the spec, or absent from the files: kept
            value = sql.SQL("t.{}").format(col)
        names.append(col)
        values.append(value)
    shadow = create_shadow(conn, spec)
    conn.execute(
        sql.SQL(
            "INSERT INTO {shadow} ({names}) SELECT {values} "
            'FROM {src} s FULL JOIN {target} t ON t.{pk} = s.{pk} COLLATE "C"'
        ).format(
            shadow=qualified(spec.schema, shadow),
            names=sql.SQL(", ").join(names),
            values=sql.SQL(", ").join(values),
            src=src,
            target=target,
            pk=pk,
        )
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(src))
    finish_swap(conn, spec, shadow)
    return inserted, updated, distinct
