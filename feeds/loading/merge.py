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

"Latest" is the last-updated field's value or, with the generated field, the file's date
("_file_date"; an undated file counts as dated the day it is loaded), then load order, then
row order: an older file never overwrites a row from a newer one, in any of the paths.
A file that lacks some of the feed's columns (not key or required ones: that file is refused)
changes only the columns it has: an upsert merges consecutive files lacking the same columns
as one group, whose UPDATE leaves the others alone (_upsert_in_groups).
See docs/decisions/0005-reruns-and-the-last-updated-rule.md.
"""

from __future__ import annotations

import itertools
import logging
import queue
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import NamedTuple

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from .convert import ColumnPlan, int64_array, shown_value
from .ddl import ensure_table, fetch_row, lock_table_name, qualified
from .encode import CopyEncoder
from .keys import client_pk_supported, pk_array
from .prefetch import prefetched
from .rebuild import rebuild_merge, should_rebuild
from .spec import (
    FILE_DATE_COLUMN,
    LOADED_AT_COLUMN,
    MAX_KEPT_REJECTS,
    PK_COLUMN,
    PK_SEPARATOR,
    UPDATED_COLUMN,
    FileRefused,
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
FD = "_fd"  # staging: the row's file date (generated updated field only)
EPOCH_DAY = date(1970, 1, 1)
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
    keep_when_empty: bool = False,
    on_lock_wait: Callable[[float], None] | None = None,
    on_committing: Callable[[], None] | None = None,
) -> LoadResult:
    """Upsert the files' rows into the spec's table; see the module docstring.

    With ``keep_when_empty``, a truncate-and-load whose files hold no rows at all changes
    nothing (result.kept is True): an empty export must not empty a table by accident.
    ``on_lock_wait(seconds)`` is called while another load holds the table (it may raise to
    give up); ``on_committing()`` once every row is in, after the last stop check: from then on
    the load commits (or fails), it no longer stops."""
    spec.validate()
    result = LoadResult()
    hooks = _Hooks(should_stop, on_progress, on_lock_wait, on_committing)
    try:
        _load(conn, spec, files, result, truncate, hooks, keep_when_empty)
    except _KeepTable:
        result.table_changes, result.kept = [], True
    return result


class _KeepTable(Exception):
    """Rolls the load's transaction back: a truncate-and-load read no rows."""


class _Hooks(NamedTuple):
    should_stop: Callable[[], bool]
    on_progress: Callable[[int], None] | None
    on_lock_wait: Callable[[float], None] | None
    on_committing: Callable[[], None] | None


def _load(
    conn: psycopg.Connection,
    spec: TableSpec,
    files: Iterable[SourceFile],
    result: LoadResult,
    truncate: bool,
    hooks: _Hooks,
    keep_when_empty: bool,
) -> None:
    should_stop, on_progress = hooks.should_stop, hooks.on_progress
    plans = [
        ColumnPlan(field=f, index=i, key=f.name in spec.primary_key, target=f.arrow_type())
        for i, f in enumerate(spec.fields)
    ]

    def check() -> None:
        _check(spec, result, should_stop)
        if truncate and keep_when_empty and result.rows_read == 0:
            raise _KeepTable
        if hooks.on_committing is not None:
            hooks.on_committing()

    with conn.transaction():
        result.table_changes = ensure_table(conn, spec, hooks.on_lock_wait)
        lock_table_name(conn, spec.schema, spec.table)
        for setting in SESSION_SETTINGS:
            conn.execute(sql.SQL("SET LOCAL " + setting))
        load_day = fetch_row(conn, "SELECT current_date")[0]  # UTC: see SESSION_SETTINGS
        reader = _Reader(spec, plans, result, should_stop, on_progress, load_day)
        started = time.perf_counter()
        if truncate and client_pk_supported(spec) and can_swap(conn, spec):
            shadow = create_shadow(conn, spec)
            staged = _copy(
                conn,
                qualified(spec.schema, shadow),
                reader.table_columns(),
                pa.schema([*reader.arrow_fields()[1:], pa.field(PK_COLUMN, pa.string())]),
                (_with_pk(spec, plans, table) for table in reader.every_table(files)),
            )
            check()
            copied = time.perf_counter()
            result.duplicates = finish_swap(conn, spec, shadow)
            result.inserted = staged - result.duplicates
            _log_timing(spec, "swap", started, copied, staged)
            return
        stage = sql.Identifier(f"_stage_{uuid.uuid4().hex}")
        conn.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                stage,
                sql.SQL(", ").join(
                    [sql.SQL(SEQ + " bigint")]
                    + [sql.SQL("{} {}").format(_c(p), sql.SQL(p.field.pg_type())) for p in plans]
                    + ([sql.SQL(FD + " date")] if reader.generated else [])
                ),
            )
        )
        if truncate:
            # Columns a file lacks are simply empty: there is no stored value to keep.
            staged = reader.copy_into(conn, stage, reader.every_table(files))
            check()
            copied = time.perf_counter()
            conn.execute(sql.SQL("TRUNCATE {}").format(qualified(spec.schema, spec.table)))
            _merge(conn, spec, plans, stage, result, staged=staged, truncate=True)
        else:
            staged = _upsert_in_groups(conn, spec, plans, stage, reader, files, check)
            copied = time.perf_counter()
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))
        _log_timing(spec, "merge", started, copied, staged)


def _upsert_in_groups(
    conn: psycopg.Connection,
    spec: TableSpec,
    plans: list[ColumnPlan],
    stage: sql.Identifier,
    reader: _Reader,
    files: Iterable[SourceFile],
    check: Callable[[], None],
) -> int:
    """Stage and merge the files; consecutive files lacking the same columns form one group,
    merged with an UPDATE of the columns they have, so a column a file lacks keeps its stored
    value. Most loads are one group. Returns the rows staged."""
    total = in_group = 0
    group_absent: frozenset[str] = frozenset()
    for source in files:
        absent, tables = reader.open(source)
        if in_group and absent != group_absent:
            _merge(conn, spec, plans, stage, reader.result, staged=in_group, absent=group_absent)
            conn.execute(sql.SQL("TRUNCATE {}").format(stage))
            in_group = 0
        if not in_group:
            group_absent = absent
        copied = reader.copy_into(conn, stage, tables)
        in_group += copied
        total += copied
    check()  # before the last (often only) merge
    if in_group:
        _merge(conn, spec, plans, stage, reader.result, staged=in_group, absent=group_absent)
    return total


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
    """(_seq, c0, c1, ..., [_fd]) -> (c0, c1, ..., [_fd], _pk) for a COPY into the table."""
    by_name = {p.field.name: table.column(f"c{p.index}") for p in plans}
    pk = pk_array(spec, {name: col.combine_chunks() for name, col in by_name.items()
                         if name in spec.primary_key})  # fmt: skip
    return table.drop_columns([SEQ]).append_column(PK_COLUMN, pa.chunked_array([pk]))


def _writer(cur: psycopg.Cursor) -> QueuedLibpqWriter:
    """A COPY writer whose worker thread sends data while the main thread converts the next
    batch. Its queue is capped at 64 blocks (about 8 MB) so memory stays flat."""
    writer = QueuedLibpqWriter(cur)
    writer._queue = queue.Queue(maxsize=64)  # type: ignore[assignment]  # default 1024 blocks: ~128 MB
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


class _Reader:
    """Reads and converts the files one at a time into tables of (_seq, c0, c1, ..., [_fd]):
    the global row order (file order, then row order: later rows win ties), the converted
    columns, and with the generated updated field each row's file date (FD)."""

    def __init__(
        self,
        spec: TableSpec,
        plans: list[ColumnPlan],
        result: LoadResult,
        should_stop: Callable[[], bool],
        on_progress: Callable[[int], None] | None,
        load_day: date,
    ) -> None:
        self.spec, self.plans, self.result = spec, plans, result
        self.should_stop, self.on_progress = should_stop, on_progress
        self.load_day = load_day  # an undated file counts as dated the day it is loaded
        self.generated = spec.last_updated is None
        self.seq = 0

    def arrow_fields(self) -> list[pa.Field]:
        fields = [pa.field(SEQ, pa.int64())]
        fields += [p.field.arrow_field(f"c{p.index}") for p in self.plans]
        if self.generated:
            fields.append(pa.field(FD, pa.date32()))
        return fields

    def table_columns(self) -> list[sql.Identifier]:
        """The domain table's columns for (c0, c1, ..., [_fd], _pk)."""
        names = [p.field.name for p in self.plans]
        names += [FILE_DATE_COLUMN] if self.generated else []
        return [sql.Identifier(n) for n in [*names, PK_COLUMN]]

    def copy_into(self, conn: psycopg.Connection, stage: sql.Identifier, tables) -> int:
        columns = [sql.Identifier(f.name) for f in self.arrow_fields()]
        return _copy(conn, stage, columns, pa.schema(self.arrow_fields()), tables)

    def every_table(self, files: Iterable[SourceFile]) -> Iterator[pa.Table]:
        for source in files:
            yield from self.open(source)[1]

    def open(self, source: SourceFile) -> tuple[frozenset[str], Iterator[pa.Table]]:
        """The fields whose column the file lacks, and the file's converted tables.

        Absence is judged on the file's first batch (its schema). A file lacking a key or
        required column is refused (FileRefused): its rows cannot be loaded as the feed says."""
        self.result.files += 1
        raw = prefetched(source.iter_batches(), depth=1)
        chunks = _chunks(raw)
        first = next(chunks, None)
        if first is None:
            return frozenset(), iter(())
        present = set(first.schema.names)
        absent = [p for p in self.plans if p.field.incoming not in present]
        for plan in absent:
            if plan.required:
                raw.close()
                raise FileRefused(_missing_column_message(source.name, plan), self.result)
        if absent:
            self.result.absent_columns[source.name] = [p.field.name for p in absent]
        tables = self._tables(source, itertools.chain([first], chunks))
        return frozenset(p.field.name for p in absent), tables

    def _tables(self, source: SourceFile, chunks: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
        plans, result = self.plans, self.result
        names = [f.name for f in self.arrow_fields()]
        file_day = (source.file_date or self.load_day) - EPOCH_DAY
        file_row = 0  # rows of this file seen so far
        for batch in chunks:
            if self.should_stop():
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
            seqs = np.arange(self.seq, self.seq + n, dtype=np.int64)
            arrays = [int64_array(seqs), *columns]
            if self.generated:
                arrays.append(_date_array(file_day.days, n))
            table = pa.Table.from_arrays(arrays, names=names)
            if bad_rows:
                _record_rejects(source.name, file_row, plans, raw, bad_rows, result)
                keep = np.ones(n, dtype=bool)
                keep[list(bad_rows)] = False
                table = table.take(int64_array(np.flatnonzero(keep)))
            self.seq += n
            file_row += n
            result.rows_read += n
            yield table
            if self.on_progress is not None:
                self.on_progress(result.rows_read)


def _date_array(days_since_epoch: int, n: int) -> pa.Array:
    """n copies of one date32, zero-copy over numpy (pa.array() would import pandas)."""
    values = np.full(n, days_since_epoch, dtype=np.int32)
    return pa.Array.from_buffers(pa.date32(), n, [None, pa.py_buffer(values)])


def _missing_column_message(file_name: str, plan: ColumnPlan) -> str:
    what = "primary key column" if plan.key else "required column"
    column = plan.field.incoming
    if plan.field.name != column:
        column += f" (field {plan.field.name})"
    return f"{file_name}: {what} {column} is missing; the file was not loaded."


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
    truncate: bool = False,
    absent: frozenset[str] = frozenset(),
) -> None:
    """Merge the staged rows into the table, adding to ``result``'s counts. Columns in
    ``absent`` (the staged files lack them) keep their stored values in rows that exist."""
    target = qualified(spec.schema, spec.table)
    field_cols = [sql.Identifier(p.field.name) for p in plans]
    stage_cols = [_c(p) for p in plans]
    pk = sql.Identifier(PK_COLUMN)
    lu_plan = next((p for p in plans if p.field.name == spec.last_updated), None)
    # Latest wins: by the last-updated field (nulls oldest), or with the generated field by
    # the file's date; then the later file / later row.
    order: list[sql.Composable] = [sql.SQL('{} COLLATE "C"').format(pk)]
    if lu_plan is not None:
        order.append(sql.SQL("{} DESC NULLS LAST").format(_c(lu_plan)))
    else:
        order.append(sql.SQL(FD + " DESC"))
    order.append(sql.SQL(SEQ + " DESC"))

    insert_cols = field_cols + [pk, sql.Identifier(LOADED_AT_COLUMN)]
    select_cols = stage_cols + [pk, sql.SQL("now()")]
    updates = [
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(p.field.name))
        for p in plans
        if p.field.name not in absent
    ]
    updates.append(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(LOADED_AT_COLUMN)))
    if lu_plan is None:
        updated, file_date = sql.Identifier(UPDATED_COLUMN), sql.Identifier(FILE_DATE_COLUMN)
        insert_cols += [updated, file_date]
        select_cols += [sql.SQL("now()"), sql.Identifier(FD)]
        updates += [sql.SQL("{0} = EXCLUDED.{0}").format(c) for c in (updated, file_date)]
        # A row from an older file never overwrites one from a newer file; the same date:
        # the load wins. Rows stored before file dates were kept (NULL) count as oldest.
        condition = sql.SQL(" WHERE t.{0} IS NULL OR EXCLUDED.{0} >= t.{0}").format(file_date)
    else:
        lu = sql.Identifier(lu_plan.field.name)
        # An older incoming row never overwrites a newer one; equal = the load wins.
        condition = sql.SQL(" WHERE t.{0} IS NULL OR EXCLUDED.{0} >= t.{0}").format(lu)

    # An empty table (first load, or truncate=True) takes a plain INSERT: no conflict checks.
    empty = (
        truncate
        or not fetch_row(conn, sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(target))[0]
    )
    src_query = sql.SQL(
        """
        SELECT DISTINCT ON ({pk} COLLATE "C") {stage_cols}, {pk}
        FROM (SELECT s.*, {pk_expr} AS {pk} FROM {stage} s) keyed
        ORDER BY {order}
        """
    ).format(
        pk=pk,
        stage_cols=sql.SQL(", ").join(
            stage_cols + ([sql.Identifier(FD)] if lu_plan is None else [])
        ),
        pk_expr=_pk_expression(spec, plans),
        stage=stage,
        order=sql.SQL(", ").join(order),
    )
    if not empty and should_rebuild(conn, spec, staged) and can_swap(conn, spec):
        sources = {p.field.name: _c(p) for p in plans}
        if lu_plan is None:
            sources[FILE_DATE_COLUMN] = sql.Identifier(FD)
        inserted, updated_rows, distinct = rebuild_merge(
            conn, spec, src_query, sources, kept=absent
        )
        _count(result, staged, inserted, updated_rows, distinct)
        return
    conflict: sql.Composable = sql.SQL("")
    if not empty:
        conflict = sql.SQL(" ON CONFLICT ({}) DO UPDATE SET {}{}").format(
            pk, sql.SQL(", ").join(updates), condition
        )
    statement = sql.SQL(
        """
        WITH src AS MATERIALIZED ({src_query}), merged AS (
            INSERT INTO {target} AS t ({insert_cols})
            SELECT {select_cols} FROM src{conflict}
            RETURNING (t.xmax = 0) AS inserted
        )
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted),
               (SELECT count(*) FROM src)
        FROM merged
        """
    ).format(
        src_query=src_query,
        target=target,
        insert_cols=sql.SQL(", ").join(insert_cols),
        select_cols=sql.SQL(", ").join(select_cols),
        conflict=conflict,
    )
    inserted, updated_rows, distinct = fetch_row(conn, statement)
    _count(result, staged, inserted, updated_rows, distinct)


def _count(result: LoadResult, staged: int, inserted: int, updated: int, distinct: int) -> None:
    result.inserted += inserted
    result.updated += updated
    result.duplicates += staged - distinct  # superseded by a later row in the load
    result.skipped += distinct - inserted - updated  # the table had a newer version


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
