"""Data Explorer queries: browse a domain table page by page, filter, sort, stream as CSV.

Keyset pagination: rows are ordered by (sort column, "_pk") and "Next" carries the last row's
values, so page 50 of a 10-million-row table costs what page 1 does (no OFFSET, no COUNT).
Sorting by "_pk" walks its primary-key index; another column is an ORDER BY ... LIMIT, a
whole-table sort per page unless a sort index (column, "_pk") exists (feeds/loading/indexes.py,
built on the worker).
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

from .loading.indexes import sort_index_exists

PK = "_pk"
PAGE_ROWS = 50
EXACT_COUNT_BELOW = 100_000
EXACT_COUNT_MAX_BYTES = 64 * 1024 * 1024
SORT_INDEX_ROWS = 100_000  # from this size a page sorted without an index is slow: offer one
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
    prev_before: str | None = None  # pass as ``before`` for the previous page; None on the first
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


def _keyset(
    sort: str, position: tuple[str | None, str], ascending: bool, nulls_after: bool
) -> tuple[sql.Composable, list[Any]]:
    """Rows strictly beyond ``position`` when walking (sort, _pk) ascending or not, nulls
    after (forward) or before (backward) the values. Row comparisons: an index can use them."""
    value, pk = position
    cmp = sql.SQL(">" if ascending else "<")
    pk_col = sql.Identifier(PK)
    if sort == PK:
        return sql.SQL("{} {} %s").format(pk_col, cmp), [pk]
    col = sql.Identifier(sort)
    if value is None:
        nulls = sql.SQL("({} IS NULL AND {} {} %s)").format(col, pk_col, cmp)
        if nulls_after:
            return nulls, [pk]
        return sql.SQL("({} OR {} IS NOT NULL)").format(nulls, col), [pk]
    values = sql.SQL("({c}, {pk}) {cmp} (%s, %s)").format(c=col, pk=pk_col, cmp=cmp)
    if nulls_after:
        return sql.SQL("({} OR {} IS NULL)").format(values, col), [value, pk]
    return values, [value, pk]


def _select(
    schema: str,
    table: str,
    columns: list[str],
    *,
    sort: str,
    ascending: bool,
    where: list[sql.Composable],
    extra: list[sql.Composable] = (),  # type: ignore[assignment]
    nulls_last: bool = True,
) -> sql.Composed:
    direction = sql.SQL("ASC" if ascending else "DESC")
    nulls = sql.SQL("NULLS LAST" if nulls_last else "NULLS FIRST")
    order = [sql.SQL("{} {} {}").format(sql.Identifier(sort), direction, nulls)]
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


def page_query(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    *,
    columns: list[str],
    sort: str,
    descending: bool,
    filters: list[Filter],
    after: str | None = None,
    before: str | None = None,
    limit: int = PAGE_ROWS,
) -> tuple[sql.Composed, list[Any]]:
    """The SELECT of one page (checked columns assumed) and its parameters. Its rows end with
    the cursor columns (sort value and "_pk" as text) and, when split, 3 ordering columns.

    ``before`` walks backwards (inverted comparison and order; the caller reverses the rows).
    With a sort index on another column than "_pk", values and nulls are fetched by two
    queries whose ORDER BY each matches the index (one index cannot serve both directions
    with nulls last), then merged: each part is an index range scan stopping after ``limit``."""
    known = {c for c, _ in table_columns(conn, schema, table)}
    where, params = _where(filters, known)
    forward = not before
    ascending = descending != forward  # backwards inverts the direction ...
    nulls_after = forward  # ... and puts the nulls first
    position = decode_after(after or before) if (after or before) else None
    extra = [
        sql.SQL("{}::text AS _cursor_sort").format(sql.Identifier(sort)),
        sql.SQL("{}::text AS _cursor_pk").format(sql.Identifier(PK)),
    ]
    if sort == PK or not sort_index_exists(conn, schema, table, sort):
        if position:
            keyset, keyset_params = _keyset(sort, position, ascending, nulls_after)
            where, params = [*where, keyset], params + keyset_params
        query = _select(
            schema, table, columns, sort=sort, ascending=ascending, where=where, extra=extra,
            nulls_last=nulls_after,
        )  # fmt: skip
        return query + sql.SQL(" LIMIT %s"), params + [limit]
    col, pk_col = sql.Identifier(sort), sql.Identifier(PK)
    direction = sql.SQL("ASC" if ascending else "DESC")
    cmp = sql.SQL(">" if ascending else "<")
    parts, part_params = [], []
    for branch, nulls in ((0, False), (1, True)):
        conds = [sql.SQL("{} IS {}NULL").format(col, sql.SQL("" if nulls else "NOT "))]
        cond_params: list[Any] = []
        if position and (position[0] is None) == nulls:  # the position's own part
            if nulls:
                conds.append(sql.SQL("{} {} %s").format(pk_col, cmp))
                cond_params = [position[1]]
            else:
                conds.append(sql.SQL("({}, {}) {} (%s, %s)").format(col, pk_col, cmp))
                cond_params = list(position)
        elif position and nulls != nulls_after:  # this part lies behind the position
            continue
        order = [sql.SQL("{} {}").format(pk_col, direction)]
        if not nulls:
            order.insert(0, sql.SQL("{} {}").format(col, direction))
        marks = [
            sql.SQL("{} AS _order_part").format(sql.Literal(branch)),
            sql.SQL("{} AS _order_sort").format(col),
            sql.SQL("{} AS _order_pk").format(pk_col),
        ]
        parts.append(
            sql.SQL("(SELECT {cols} FROM {table} WHERE {where} ORDER BY {order} LIMIT %s)").format(
                cols=sql.SQL(", ").join([sql.Identifier(c) for c in columns] + extra + marks),
                table=_table(schema, table),
                where=sql.SQL(" AND ").join(where + conds),
                order=sql.SQL(", ").join(order),
            )
        )
        part_params += params + cond_params + [limit]
    query = sql.SQL(
        "SELECT * FROM ({parts}) p ORDER BY _order_part {nulls}, _order_sort {d}, _order_pk {d} "
        "LIMIT %s"
    ).format(
        parts=sql.SQL(" UNION ALL ").join(parts),
        nulls=sql.SQL("ASC" if nulls_after else "DESC"),
        d=direction,
    )
    return query, part_params + [limit]


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
    before: str | None = None,
    limit: int = PAGE_ROWS,
) -> Page:
    """One page of rows, ordered by (sort, _pk). ``after`` is the previous page's next_after
    (the rows after it); ``before`` a later page's prev_before (the rows just before it)."""
    known_columns = table_columns(conn, schema, table)
    known = {c for c, _ in known_columns}
    if not known:
        raise ExplorerError(f"The table {table} does not exist (activate its feed).")
    columns = columns or [c for c, _ in known_columns]
    sort = sort or PK
    _check(columns, sort, known)
    filters = filters or []
    query, params = page_query(
        conn, schema, table, columns=columns, sort=sort, descending=descending,
        filters=filters, after=after, before=None if after else before, limit=limit + 1,
    )  # fmt: skip
    rows = _run(conn, query, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    width = len(columns)
    if before and not after:
        rows.reverse()
        next_after = encode_after(*rows[-1][width : width + 2]) if rows else None
        prev_before = encode_after(*rows[0][width : width + 2]) if more else None
    else:
        next_after = encode_after(*rows[-1][width : width + 2]) if more else None
        prev_before = encode_after(*rows[0][width : width + 2]) if after and rows else None
    return Page(
        columns=columns,
        rows=[r[:width] for r in rows],
        next_after=next_after,
        prev_before=prev_before,
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
    query = _select(schema, table, columns, sort=sort or PK, ascending=not descending, where=where)
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
