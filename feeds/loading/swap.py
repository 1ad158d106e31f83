"""Truncate-and-load by swapping in a new table, built without indexes.

COPY into a fresh, index-free table created in the load's transaction, build the primary key
once at the end (a sort, much cheaper than a B-tree insert per row), then DROP the old table
and RENAME the new one into its place -- all in the load's transaction, so readers keep reading
the old rows until the commit and then see the new ones (Postgres re-resolves the name of a
table that was swapped while a query waited for its lock).

Plain B-tree indexes besides the key (the Data Explorer's sort indexes on (column, "_pk"),
or any index of plain columns with default operator classes and collations) are rebuilt on the
new table from their column list before the swap and keep their names. Otherwise only for a
plain table that nothing else hangs on: views, rules, foreign keys, triggers, other indexes
(unique, partial, expression, other methods or options), grants, row security, inheritance,
publications or another owner would be lost or would block the DROP, so such a table keeps
the TRUNCATE + INSERT path (see merge.py).
"""

from __future__ import annotations

import uuid

import psycopg
from psycopg import errors, sql

from .ddl import fetch_row, qualified
from .spec import FILE_DATE_COLUMN, PK_COLUMN, UPDATED_COLUMN, TableSpec

# A non-key index we can rebuild exactly from its columns and their ASC/DESC, NULLS options.
_PLAIN_INDEX = """
    (SELECT am.amname = 'btree' AND x.reloptions IS NULL AND x.reltablespace = 0
     FROM pg_class x JOIN pg_am am ON am.oid = x.relam WHERE x.oid = i.indexrelid)
    AND i.indisvalid AND i.indisready AND i.indislive AND NOT i.indisprimary
    AND NOT i.indisunique AND NOT i.indisexclusion
    AND i.indexprs IS NULL AND i.indpred IS NULL AND i.indnkeyatts = i.indnatts
    AND NOT EXISTS (
        SELECT 1 FROM generate_subscripts(i.indkey::int2[], 1) k
        JOIN pg_opclass o ON o.oid = (i.indclass::oid[])[k]
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = (i.indkey::int2[])[k]
        WHERE NOT o.opcdefault OR (i.indcollation::oid[])[k] <> a.attcollation)
"""

_BLOCKERS = """
SELECT c.relkind <> 'r'
    OR c.relispartition
    OR c.relrowsecurity
    OR c.relacl IS NOT NULL
    OR c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
    OR EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND NOT i.indisprimary
               AND NOT ({plain}))
    OR NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
    OR EXISTS (SELECT 1 FROM pg_depend d
               WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                 AND d.classid = 'pg_rewrite'::regclass)
    OR EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid OR
               (f.conrelid = c.oid AND f.contype NOT IN ('p', 'c', 'n')))
    OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid)
    OR EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = c.oid OR h.inhparent = c.oid)
    OR EXISTS (SELECT 1 FROM pg_publication_rel p WHERE p.prrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = %s
""".replace("{plain}", _PLAIN_INDEX)

_PLAIN_INDEXES = """
SELECT ic.relname,
       array_agg(a.attname ORDER BY k),
       array_agg((i.indoption::int2[])[k] ORDER BY k)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
CROSS JOIN LATERAL generate_subscripts(i.indkey::int2[], 1) k
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = (i.indkey::int2[])[k]
WHERE i.indrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = %s AND c.relname = %s)
  AND {plain}
GROUP BY ic.relname
ORDER BY ic.relname
""".replace("{plain}", _PLAIN_INDEX)
_INDOPTION_DESC, _INDOPTION_NULLS_FIRST = 1, 2


def can_swap(conn: psycopg.Connection, spec: TableSpec) -> bool:
    row = conn.execute(_BLOCKERS, (spec.schema, spec.table)).fetchone()
    return row is not None and not row[0]


def create_shadow(conn: psycopg.Connection, spec: TableSpec) -> str:
    """An empty copy of the table (columns, types, defaults; no indexes) to COPY into; returns
    its name (in the table's schema)."""
    name = f"_load_{uuid.uuid4().hex}"
    shadow = qualified(spec.schema, name)
    target = qualified(spec.schema, spec.table)
    conn.execute(
        sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING ALL EXCLUDING INDEXES)").format(shadow, target)
    )
    if spec.last_updated is None:  # the generated field: the load's time, as the merge sets it
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT now()").format(
                shadow, sql.Identifier(UPDATED_COLUMN)
            )
        )
    return name


def finish_swap(conn: psycopg.Connection, spec: TableSpec, shadow_name: str) -> int:
    """De-duplicate if needed, add the primary key, put the shadow in the table's place.

    Returns the number of rows superseded by a newer row with the same key."""
    target = qualified(spec.schema, spec.table)
    pk = sql.Identifier(PK_COLUMN)
    shadow = qualified(spec.schema, shadow_name)
    constraint = fetch_row(
        conn,
        """
        SELECT conname FROM pg_constraint
        WHERE conrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n
                          ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s)
          AND contype = 'p'
        """,
        (spec.schema, spec.table),
    )[0]
    temp_constraint = sql.Identifier(f"{shadow_name}_pkey")
    add_pk = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
        shadow, temp_constraint, pk
    )
    superseded = 0
    try:
        with conn.transaction():  # a savepoint: most loads have no duplicate keys
            conn.execute(add_pk)
    except errors.UniqueViolation:
        superseded = _dedupe(conn, spec, shadow)
        conn.execute(add_pk)
    if spec.last_updated is None:
        conn.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(
                shadow, sql.Identifier(UPDATED_COLUMN)
            )
        )
    indexes = _copy_plain_indexes(conn, spec, shadow_name)
    conn.execute(sql.SQL("DROP TABLE {}").format(target))
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(shadow, sql.Identifier(spec.table)))
    conn.execute(
        sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
            target, temp_constraint, sql.Identifier(constraint)
        )
    )
    for temp, name in indexes:
        conn.execute(
            sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                qualified(spec.schema, temp), sql.Identifier(name)
            )
        )
    return superseded


def _copy_plain_indexes(
    conn: psycopg.Connection, spec: TableSpec, shadow_name: str
) -> list[tuple[str, str]]:
    """Build the table's plain indexes on the shadow under temporary names (the old table
    still holds theirs); returns (temporary name, name) pairs to rename after the swap."""
    renames = []
    rows = conn.execute(_PLAIN_INDEXES, (spec.schema, spec.table)).fetchall()
    for n, (name, columns, options) in enumerate(rows):
        keys = [
            sql.SQL("{} {} {}").format(
                sql.Identifier(column),
                sql.SQL("DESC" if option & _INDOPTION_DESC else "ASC"),
                sql.SQL("NULLS FIRST" if option & _INDOPTION_NULLS_FIRST else "NULLS LAST"),
            )
            for column, option in zip(columns, options, strict=True)
        ]
        temp = f"{shadow_name}_i{n}"
        conn.execute(
            sql.SQL("CREATE INDEX {} ON {} ({})").format(
                sql.Identifier(temp),
                qualified(spec.schema, shadow_name),
                sql.SQL(", ").join(keys),
            )
        )
        renames.append((temp, name))
    return renames


def _dedupe(conn: psycopg.Connection, spec: TableSpec, shadow: sql.Composed) -> int:
    """Delete every row but the latest of each key: newest last-updated value (nulls oldest),
    or with the generated updated field the newest file date; then the row loaded last. A
    fresh table filled by one COPY stores rows in load order, so ctid order is file order,
    then row order."""
    pk = sql.Identifier(PK_COLUMN)
    newest = sql.Identifier(spec.last_updated or FILE_DATE_COLUMN)
    order = [sql.SQL("{} DESC NULLS LAST, ctid DESC").format(newest)]
    cur = conn.execute(
        sql.SQL(
            """
            DELETE FROM {shadow} t USING (
                SELECT ctid AS row_id, row_number() OVER (PARTITION BY {pk} ORDER BY {order}) AS n
                FROM {shadow}
                WHERE {pk} IN (SELECT {pk} FROM {shadow} GROUP BY {pk} HAVING count(*) > 1)
            ) d
            WHERE d.n > 1 AND t.ctid = d.row_id
            """
        ).format(shadow=shadow, pk=pk, order=sql.SQL(", ").join(order))
    )
    return cur.rowcount
