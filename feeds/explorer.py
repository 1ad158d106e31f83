"""Data Explorer queries: browse a domain table page by page, filter, sort, stream as CSV.

Keyset pagination: rows are ordered by (sort column, "_pk") and "Next" carries the last row's
values, so page 50 of a 10-million-row table costs what page 1 does (no OFFSET, no COUNT).
Sorting by "_pk" walks its primary-key index; another column is an ORDER BY ... LIMIT.
Pure psycopg: no Django, so the benchmark can call it on any table.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

PK = "_pk"
PAGE_ROWS = 50
EXACT_COUNT_BELOW = 100_000
EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024
OPERATORS = {
    "=": "equals",
    "!=": "does not equal",
    "contains": "contains",
    ">": "greater than",
    "<": "less than",
    "empty": "is empty",
}


class ExplorerError(ValueError):
    """A bad column, operator, value or cursor; the message names it."""


@dataclass(frozen=True)
class Filter:
    column: str
    op: str
    value: str = ""


@dataclass
class Page:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    next_after: str | None  # pass as ``after`` to get the next page; None on the last page
    sort: str = PK
    descending: bool = False
    filters: list[Filter] = field(default_factory=list)


def _table(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def table_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(column, Postgres type) in table order; [] when the table does not exist."""
    return conn.execute(
        """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
        """,
        (schema, table),
    ).fetchall()


def row_count(conn: psycopg.Connection, schema: str, table: str) -> tuple[int, bool]:
    """(rows, estimated). Exact for small tables; the planner's estimate for big ones."""
    found = conn.execute(
        """
        SELECT c.reltuples::bigint, pg_relation_size(c.oid)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = %s AND c.relname = %s
        """,
        (schema, table),
    ).fetchone()
    if found is None:
        return 0, False
    estimate, size = found
    if estimate >= EXACT_COUNT_BELOW:
        return estimate, True
    if size <= EXACT_COUNT_MAX_BYTES:
        count = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(_table(schema, table)))
        return count.fetchone()[0], False
    # Never analysed and big: count a 1 % sample of its pages.
    sampled = conn.execute(
        sql.SQL("SELECT count(*) * 100 FROM {} TABLESAMPLE SYSTEM (1)").format(
            _table(schema, table)
        )
    )
    return sampled.fetchone()[0], True


def _where(filters: list[Filter], known: set[str]) -> tuple[list[sql.Composable], list[Any]]:
    parts: list[sql.Composable] = []
    params: list[Any] = []
    for f in filters:
        if f.column not in known:
            raise ExplorerError(f'There is no column "{f.column}" to filter on.')
        col = sql.Identifier(f.column)
        if f.op == "empty":
            parts.append(sql.SQL("{} IS NULL").format(col))
        elif f.op == "contains":
            like = f.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            parts.append(sql.SQL("{}::text ILIKE %s").format(col))
            params.append(f"%{like}%")
        elif f.op in ("=", "!=", ">", "<"):
            parts.append(sql.SQL("{} {} %s").format(col, sql.SQL("<>" if f.op == "!=" else f.op)))
            params.append(f.value)
        else:
            raise ExplorerError(f'Unknown filter operator "{f.op}".')
    return parts, params


def encode_after(sort_value: str | None, pk: str) -> str:
    raw = json.dumps([sort_value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_after(token: str) -> tuple[str | None, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, str) or not (value is None or isinstance(value, str)):
            raise TypeError
        return value, pk
    except (ValueError, TypeError) as exc:
        raise ExplorerError("The page link is damaged: start again from the first page.") from exc


def _keyset(sort: str, descending: bool, after: str) -> tuple[sql.Composable, list[Any]]:
    value, pk = decode_after(after)
    cmp = sql.SQL("<" if descending else ">")
    pk_col = sql.Identifier(PK)
    if sort == PK:
        return sql.SQL("{} {} %s").format(pk_col, cmp), [pk]
    col = sql.Identifier(sort)
    if value is None:  # nulls sort last: only later nulls remain
        return sql.SQL("({} IS NULL AND {} {} %s)").format(col, pk_col, cmp), [pk]
    return (
        sql.SQL("({c} {cmp} %s OR ({c} = %s AND {pk} {cmp} %s) OR {c} IS NULL)").format(
            c=col, cmp=cmp, pk=pk_col
        ),
        [value, value, pk],
    )


def _select(
    schema: str,
    table: str,
    columns: list[str],
    *,
    sort: str,
    descending: bool,
    where: list[sql.Composable],
    extra: list[sql.Composable] = (),  # type: ignore[assignment]
) -> sql.Composed:
    direction = sql.SQL("DESC" if descending else "ASC")
    order = [sql.SQL("{} {} NULLS LAST").format(sql.Identifier(sort), direction)]
    if sort != PK:
        order.append(sql.SQL("{} {}").format(sql.Identifier(PK), direction))
    return sql.SQL("SELECT {cols} FROM {table}{where} ORDER BY {order}").format(
        cols=sql.SQL(", ").join([sql.Identifier(c) for c in columns] + list(extra)),
        table=_table(schema, table),
        where=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
        order=sql.SQL(", ").join(order),
    )


def _check(columns: list[str], sort: str, known: set[str]) -> None:
    if PK not in known:
        raise ExplorerError('This table has no "_pk" column: it was not created by a feed.')
    if sort not in known:
        raise ExplorerError(f'There is no column "{sort}" to sort by.')
    for c in columns:
        if c not in known:
            raise ExplorerError(f'There is no column "{c}".')


def _run(conn: psycopg.Connection, query: sql.Composable, params: list[Any]) -> psycopg.Cursor:
    try:
        return conn.execute(query, params)
    except psycopg.errors.DataError as exc:
        if not conn.autocommit:
            conn.rollback()
        detail = (exc.diag.message_primary or str(exc)).split("\n")[0]
        raise ExplorerError(f"The filter value does not fit its column: {detail}.") from exc


def fetch_page(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    *,
    columns: list[str] | None = None,
    sort: str = PK,
    descending: bool = False,
    filters: list[Filter] | None = None,
    after: str | None = None,
    limit: int = PAGE_ROWS,
) -> Page:
    """One page of rows, ordered by (sort, _pk); ``after`` is the previous page's next_after."""
    known_columns = table_columns(conn, schema, table)
    known = {c for c, _ in known_columns}
    if not known:
        raise ExplorerError(f"The table {table} does not exist (activate its feed).")
    columns = columns or [c for c, _ in known_columns]
    sort = sort or PK
    _check(columns, sort, known)
    filters = filters or []
    where, params = _where(filters, known)
    if after:
        keyset, keyset_params = _keyset(sort, descending, after)
        where.append(keyset)
        params += keyset_params
    # The cursor columns, as text: Postgres reads its own text form back exactly.
    extra = [
        sql.SQL("{}::text AS _cursor_sort").format(sql.Identifier(sort)),
        sql.SQL("{}::text AS _cursor_pk").format(sql.Identifier(PK)),
    ]
    query = _select(
        schema, table, columns, sort=sort, descending=descending, where=where, extra=extra
    ) + sql.SQL(" LIMIT %s")
    rows = _run(conn, query, params + [limit + 1]).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = encode_after(rows[-1][-2], rows[-1][-1]) if more else None
    return Page(
        columns=columns,
        rows=[r[:-2] for r in rows],
        next_after=next_after,
        sort=sort,
        descending=descending,
        filters=filters,
    )


def stream_csv(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    *,
    columns: list[str] | None = None,
    sort: str = PK,
    descending: bool = False,
    filters: list[Filter] | None = None,
) -> Iterator[bytes]:
    """The (filtered, sorted) table as CSV with a header, streamed by COPY.

    Checks the request now (raises ExplorerError); the returned iterator closes ``conn``."""
    known_columns = table_columns(conn, schema, table)
    known = {c for c, _ in known_columns}
    if not known:
        raise ExplorerError(f"The table {table} does not exist (activate its feed).")
    columns = columns or [c for c, _ in known_columns]
    _check(columns, sort or PK, known)
    where, params = _where(filters or [], known)
    query = _select(schema, table, columns, sort=sort or PK, descending=descending, where=where)
    return _copy_out(
        conn, sql.SQL("COPY ({}) TO STDOUT (FORMAT csv, HEADER)").format(query), params
    )


def _copy_out(conn: psycopg.Connection, query: sql.Composed, params: list[Any]) -> Iterator[bytes]:
    try:
        with conn.cursor() as cur, cur.copy(query, params or None) as copy:
            for data in copy:
                yield bytes(data)
    finally:
        conn.close()
