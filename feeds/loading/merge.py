"""load(): stream files into Postgres with COPY, de-duplicate, merge into the domain table.

One transaction per call:
  1. ensure the table (create / add columns) and take a per-table advisory lock;
  2. read ahead (prefetch.py: decoding runs in a thread) and convert batch by batch; COPY every
     good row (binary via pgpq, or CSV: encode.py) with no per-row Python:
       - truncate=True on a plain table (swap.py): straight into a fresh index-free copy of
         the table, "_pk" computed in Arrow (keys.py);
       - otherwise into a TEMP staging table, with a sequence number;
  3. check the stop request and the error threshold;
  4. truncate=True, swapped: de-duplicate only if the primary key build finds duplicates,
     then DROP the old table and RENAME the new one in;
     otherwise: (truncate=True) TRUNCATE late, so readers are blocked only for the merge, then
     INSERT the latest row per "_pk" ... ON CONFLICT ("_pk") DO UPDATE.
Any exception, a threshold breach, a stop request or a killed process leaves the table as it was.
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from .convert import ColumnPlan, int64_array, shown_value
from .ddl import ensure_table, lock_table_name, qualified
from .encode import CopyEncoder
from .keys import client_pk_supported, pk_array
from .prefetch import prefetched
from .rebuild import rebuild_merge, should_rebuild
from .spec import (
    LOADED_AT_COLUMN,
    MAX_KEPT_REJECTS,
    PK_COLUMN,
    PK_SEPARATOR,
    UPDATED_COLUMN,
    LoadRejected,
    LoadResult,
    LoadStopped,
    Reject,
    SourceFile,
    TableSpec,
)
from .swap import can_swap, create_shadow, finish_swap

MAX_ROWS_PER_CHUNK = 16_384  # bigger batches are converted in slices to bound memory
SEQ = "_seq"
logger = logging.getLogger(__name__)
SESSION_SETTINGS = (  # constants only
    "TimeZone TO 'UTC'",
    "DateStyle TO 'ISO, YMD'",
    "work_mem TO '256MB'",
    "maintenance_work_mem TO '256MB'",  # the primary key build of a swapped table
)


def _never() -> bool:
    return False


def load(
    conn: psycopg.Connection,
    spec: TableSpec,
    files: Iterable[SourceFile],
    *,
    truncate: bool = False,
    should_stop: Callable[[], bool] = _never,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Upsert the files' rows into the spec's table; see the module docstring."""
    spec.validate()
    result = LoadResult()
    plans = [
        ColumnPlan(field=f, index=i, key=f.name in spec.primary_key, target=f.arrow_type())
        for i, f in enumerate(spec.fields)
    ]
    targets = [p.field.arrow_field(f"c{p.index}") for p in plans]
    with conn.transaction():
        result.table_changes = ensure_table(conn, spec)
        lock_table_name(conn, spec.schema, spec.table)
        for setting in SESSION_SETTINGS:
            conn.execute(sql.SQL("SET LOCAL " + setting))
        batches = _converted(spec, plans, files, result, should_stop, on_progress)
        started = time.perf_counter()
        if truncate and client_pk_supported(spec) and can_swap(conn, spec):
            shadow = create_shadow(conn, spec)
            columns = [sql.Identifier(p.field.name) for p in plans] + [sql.Identifier(PK_COLUMN)]
            staged = _copy(
                conn,
                qualified(spec.schema, shadow),
                columns,
                pa.schema([*targets, pa.field(PK_COLUMN, pa.string())]),
                (_with_pk(spec, plans, table) for table in batches),
            )
            _check(spec, result, should_stop)
            copied = time.perf_counter()
            result.duplicates = finish_swap(conn, spec, shadow)
            result.inserted = staged - result.duplicates
            _log_timing(spec, "swap", started, copied, staged)
            return result
        stage = sql.Identifier(f"_stage_{uuid.uuid4().hex}")
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                stage,
                sql.SQL(", ").join(
                    [sql.SQL(SEQ + " bigint")]
                    + [sql.SQL("{} {}").format(_c(p), sql.SQL(p.field.pg_type())) for p in plans]
                ),
            )
        )
        staged = _copy(
            conn,
            stage,
            [sql.Identifier(SEQ)] + [_c(p) for p in plans],
            pa.schema([pa.field(SEQ, pa.int64()), *targets]),
            batches,
        )
        _check(spec, result, should_stop)
        copied = time.perf_counter()
        if truncate:
            conn.execute(sql.SQL("TRUNCATE {}").format(qualified(spec.schema, spec.table)))
        _merge(conn, spec, plans, stage, result, staged=staged, truncate=truncate)
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))
        _log_timing(spec, "merge", started, copied, staged)
    return result


def _log_timing(spec: TableSpec, how: str, started: float, copied: float, rows: int) -> None:
    logger.info(
        "load %s.%s (%s): %d rows copied in %.2f s, %s in %.2f s",
        spec.schema, spec.table, how, rows, copied - started, how, time.perf_counter() - copied,
    )  # fmt: skip


def _check(spec: TableSpec, result: LoadResult, should_stop: Callable[[], bool]) -> None:
    if should_stop():
        raise LoadStopped(_stopped_message(result), result)
    if result.rejected * 100 > spec.error_threshold * result.rows_read:
        raise LoadRejected(_rejected_message(spec, result), result)


def _copy(
    conn: psycopg.Connection,
    dest: sql.Composable,
    columns: list[sql.Identifier],
    schema: pa.Schema,
    tables: Iterable[pa.Table],
) -> int:
    """COPY the tables' rows into ``dest``; returns the number of rows sent."""
    encoder = CopyEncoder(schema)
    statement = sql.SQL("COPY {} ({}) FROM STDIN {}").format(
        dest, sql.SQL(", ").join(columns), encoder.options()
    )
    sent = 0
    with conn.cursor() as cur, cur.copy(statement, writer=_writer(cur)) as copy:
        copy.write(encoder.header())
        for table in tables:
            if table.num_rows:
                sent += table.num_rows
                copy.write(encoder.encode(table))
        copy.write(encoder.trailer())
    return sent


def _with_pk(spec: TableSpec, plans: list[ColumnPlan], table: pa.Table) -> pa.Table:
    """(_seq, c0, c1, ...) -> (c0, c1, ..., _pk) for a COPY straight into the table."""
    by_name = {p.field.name: table.column(f"c{p.index}") for p in plans}
    pk = pk_array(spec, {name: col.combine_chunks() for name, col in by_name.items()
                         if name in spec.primary_key})  # fmt: skip
    return table.drop_columns([SEQ]).append_column(PK_COLUMN, pa.chunked_array([pk]))


def _writer(cur: psycopg.Cursor) -> QueuedLibpqWriter:
    """A COPY writer whose worker thread sends data while the main thread converts the next
    batch. Its queue is capped at 64 blocks (about 8 MB) so memory stays flat."""
    writer = QueuedLibpqWriter(cur)
    writer._queue = queue.Queue(maxsize=64)  # psycopg's default (1024 blocks) is ~128 MB
    return writer


def _c(plan: ColumnPlan) -> sql.Identifier:
    """Staging columns are positional (c0, c1, ...): user names never reach the temp table."""
    return sql.Identifier(f"c{plan.index}")


def _chunks(batches: Iterable[pa.RecordBatch | pa.Table]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        parts = batch.to_batches() if isinstance(batch, pa.Table) else [batch]
        for part in parts:
            for start in range(0, max(part.num_rows, 1), MAX_ROWS_PER_CHUNK):
                yield part.slice(start, MAX_ROWS_PER_CHUNK)


def _converted(
    spec: TableSpec,
    plans: list[ColumnPlan],
    files: Iterable[SourceFile],
    result: LoadResult,
    should_stop: Callable[[], bool],
    on_progress: Callable[[int], None] | None,
) -> Iterator[pa.Table]:
    """Yield, per batch, a table of (_seq, c0, c1, ...) holding the rows that converted."""
    seq = 0  # global row counter: file order, then row order (later rows win ties)
    names = [SEQ] + [f"c{p.index}" for p in plans]
    for source in files:
        result.files += 1
        file_row = 0  # rows of this file seen so far
        for batch in _chunks(prefetched(source.iter_batches(), depth=1)):
            if should_stop():
                raise LoadStopped(_stopped_message(result), result)
            n = batch.num_rows
            if n == 0:
                continue
            incoming = {name: i for i, name in enumerate(batch.schema.names)}
            columns: list[pa.Array] = []
            bad_rows: dict[int, list[tuple[int, str]]] = {}
            raw: list[pa.Array | None] = []
            for plan in plans:
                idx = incoming.get(plan.field.incoming)
                arr = batch.column(idx) if idx is not None else None
                raw.append(arr)
                out, bad = plan.convert(arr, n)
                columns.append(out if out.type == plan.target else out.cast(plan.target))
                for row, reason in bad.items():
                    bad_rows.setdefault(row, []).append((plan.index, reason))
            seqs = np.arange(seq, seq + n, dtype=np.int64)
            table = pa.Table.from_arrays([int64_array(seqs)] + columns, names=names)
            if bad_rows:
                _record_rejects(source.name, file_row, plans, raw, bad_rows, result)
                keep = np.ones(n, dtype=bool)
                keep[list(bad_rows)] = False
                table = table.take(int64_array(np.flatnonzero(keep)))
            seq += n
            file_row += n
            result.rows_read += n
            yield table
            if on_progress is not None:
                on_progress(result.rows_read)


def _record_rejects(
    file_name: str,
    file_row: int,
    plans: list[ColumnPlan],
    raw: list[pa.Array | None],
    bad_rows: dict[int, list[tuple[int, str]]],
    result: LoadResult,
) -> None:
    result.rejected += len(bad_rows)
    for row in sorted(bad_rows):
        for index, reason in sorted(bad_rows[row]):
            if len(result.rejects) >= MAX_KEPT_REJECTS:
                return
            plan = plans[index]
            result.rejects.append(
                Reject(
                    file=file_name,
                    row=file_row + row + 1,
                    field=plan.field.name,
                    value=shown_value(raw[index], row),
                    reason=reason,
                )
            )


def _pk_expression(spec: TableSpec, plans: list[ColumnPlan]) -> sql.Composable:
    by_name = {p.field.name: p for p in plans}
    parts: list[sql.Composable] = []
    for name in spec.primary_key:
        plan = by_name[name]
        col = _c(plan)
        if plan.field.type == "string":
            expr: sql.Composable = col
            if len(spec.primary_key) > 1:  # escape so the separator cannot be confused
                expr = sql.SQL(r"replace(replace({}, '\', '\\'), {}, '\x1f')").format(
                    col, sql.Literal(PK_SEPARATOR)
                )
        elif plan.field.type == "decimal":
            expr = sql.SQL("trim_scale({})::text").format(col)  # 1.5 and 1.50 are one key
        else:
            expr = sql.SQL("{}::text").format(col)
        parts.append(expr)
    if len(parts) == 1:
        return parts[0]
    return sql.SQL("concat_ws({}, {})").format(sql.Literal(PK_SEPARATOR), sql.SQL(", ").join(parts))


def _merge(
    conn: psycopg.Connection,
    spec: TableSpec,
    plans: list[ColumnPlan],
    stage: sql.Identifier,
    result: LoadResult,
    *,
    staged: int,
    truncate: bool,
) -> None:
    target = qualified(spec.schema, spec.table)
    field_cols = [sql.Identifier(p.field.name) for p in plans]
    stage_cols = [_c(p) for p in plans]
    pk = sql.Identifier(PK_COLUMN)
    lu_plan = next((p for p in plans if p.field.name == spec.last_updated), None)
    # Latest wins: by the last-updated field (nulls oldest), then later file / later row.
    order = [sql.SQL('{} COLLATE "C"').format(pk)]
    if lu_plan is not None:
        order.append(sql.SQL("{} DESC NULLS LAST").format(_c(lu_plan)))
    order.append(sql.SQL(SEQ + " DESC"))

    insert_cols = field_cols + [pk, sql.Identifier(LOADED_AT_COLUMN)]
    select_cols = stage_cols + [pk, sql.SQL("now()")]
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(c) for c in field_cols]
    updates.append(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(LOADED_AT_COLUMN)))
    condition: sql.Composable = sql.SQL("")
    if lu_plan is None:
        insert_cols.append(sql.Identifier(UPDATED_COLUMN))
        select_cols.append(sql.SQL("now()"))
        updates.append(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(UPDATED_COLUMN)))
    else:
        lu = sql.Identifier(lu_plan.field.name)
        # An older incoming row never overwrites a newer one; equal = the load wins.
        condition = sql.SQL(" WHERE t.{0} IS NULL OR EXCLUDED.{0} >= t.{0}").format(lu)

    # An empty table (first load, or truncate=True) takes a plain INSERT: no conflict checks.
    empty = (
        truncate
        or not conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target)).fetchone()[
            0
        ]
    )
    src_query = sql.SQL(
        """
        SELECT DISTINCT ON ({pk} COLLATE "C") {stage_cols}, {pk}
        FROM (SELECT s.*, {pk_expr} AS {pk} FROM {stage} s) keyed
        ORDER BY {order}
        """
    ).format(
        pk=pk,
        stage_cols=sql.SQL(", ").join(stage_cols),
        pk_expr=_pk_expression(spec, plans),
        stage=stage,
        order=sql.SQL(", ").join(order),
    )
    if not empty and should_rebuild(conn, spec, staged) and can_swap(conn, spec):
        sources = {p.field.name: _c(p) for p in plans}
        result.inserted, result.updated, distinct = rebuild_merge(conn, spec, src_query, sources)
        result.duplicates = staged - distinct
        result.skipped = distinct - result.inserted - result.updated
        return
    conflict: sql.Composable = sql.SQL("")
    if not empty:
        conflict = sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}{}").format(
            pk, sql.SQL(", ").join(updates), condition
        )
    count_src = sql.SQL(", (SELECT count(*) FROM src)" if lu_plan is not None else "")
    statement = sql.SQL(
        """
        WITH src AS MATERIALIZED ({src_query}), merged AS (
            INSERT INTO {target} AS t ({insert_cols})
            SELECT {select_cols} FROM src{conflict}
            RETURNING (t.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted){count_src}
        FROM merged
        """
    ).format(
        src_query=src_query,
        target=target,
        insert_cols=sql.SQL(", ").join(insert_cols),
        select_cols=sql.SQL(", ").join(select_cols),
        conflict=conflict,
        count_src=count_src,
    )
    counts = conn.execute(statement).fetchone()
    result.inserted, result.updated = counts[0], counts[1]
    distinct = counts[2] if lu_plan is not None else result.inserted + result.updated
    result.duplicates = staged - distinct
    result.skipped = distinct - result.inserted - result.updated


def _rejected_message(spec: TableSpec, result: LoadResult) -> str:
    message = (
        f"{result.rejected:,} of {result.rows_read:,} rows rejected "
        f"({result.rejected_percent:.1f}%), over the feed's {spec.error_threshold:g}% error "
        f"threshold; nothing was written."
    )
    if result.rejects:
        message += f" First: {result.rejects[0]}"
    return message


def _stopped_message(result: LoadResult) -> str:
    return f"Stopped after {result.rows_read:,} rows; nothing was written."
