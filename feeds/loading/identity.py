"""Heap's identity rule, applied in the domain schema (the only raw SQL of the Heap source).

Heap does not merge users in its S3 exports: a row's canonical user is
``COALESCE(to_user_id, user_id)`` through ``user_migrations``. Two tables make that usable:

* ``Heap:User identity`` – every Heap user id (users, and both sides of every migration) →
  its canonical user id, and whether it was migrated;
* ``Heap:Users merged`` – one row per canonical user: earliest joindate, latest
  last_modified, and the latest non-null identity, handle and email (latest by last_modified).

They are plain tables rebuilt in one transaction after each Heap run (not views: a view would
pin the feeds' tables, so a type change or a deleted feed would fail). Readers see the old
rows until the new ones are committed. Every identifier goes through psycopg.sql.Identifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from .ddl import fetch_row

IDENTITY_TABLE = "Heap:User identity"
MERGED_TABLE = "Heap:Users merged"
LATEST_TEXT = ("identity", "handle", "email")


@dataclass(frozen=True)
class IdentitySource:
    """Where the rule reads from: the tables and their (resulting) column names.

    ``users`` maps the Heap column (user_id, joindate, last_modified, identity, handle,
    email) to the feed's column name, or None when the feed does not have it."""

    schema: str
    users_table: str
    users: dict[str, str | None]
    migrations_table: str
    from_user_id: str
    to_user_id: str
    identity_table: str = IDENTITY_TABLE
    merged_table: str = MERGED_TABLE


def _t(schema: str, table: str) -> sql.Composed:
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _col(alias: str, name: str | None, pg_type: str) -> sql.Composable:
    if name is None:
        return sql.SQL("NULL::" + pg_type)  # pg_type is one of our constants
    return sql.SQL("{}.{}").format(sql.Identifier(alias), sql.Identifier(name))


def heap_identity_refresh(conn: psycopg.Connection, source: IdentitySource) -> dict[str, int]:
    """Rebuild both tables; returns their row counts by table name."""
    s = source
    user_id = s.users.get("user_id")
    if not user_id:
        raise ValueError(f"{s.users_table} has no user_id column")
    identity, merged = _t(s.schema, s.identity_table), _t(s.schema, s.merged_table)
    users, migrations = _t(s.schema, s.users_table), _t(s.schema, s.migrations_table)
    uid = sql.Identifier(user_id)
    from_id, to_id = sql.Identifier(s.from_user_id), sql.Identifier(s.to_user_id)
    last_modified = _col("u", s.users.get("last_modified"), "timestamptz")
    latest = [
        sql.SQL(
            "(array_agg({v} ORDER BY {lm} DESC NULLS LAST, u.{uid} DESC) "
            "FILTER (WHERE {v} IS NOT NULL))[1] AS {name}"
        ).format(v=_col("u", s.users.get(name), "text"), lm=last_modified, uid=uid,
                 name=sql.Identifier(name))
        for name in LATEST_TEXT
    ]  # fmt: skip
    with conn.transaction():
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identity))
        conn.execute(
            sql.SQL(
                """
                CREATE TABLE {identity} AS
                SELECT ids.user_id,
                       COALESCE(m.{to_id}, ids.user_id) AS canonical_user_id,
                       m.{to_id} IS NOT NULL AS migrated
                FROM (SELECT {uid} AS user_id FROM {users}
                      UNION SELECT {from_id} FROM {migrations}
                      UNION SELECT {to_id} FROM {migrations}) ids
                LEFT JOIN {migrations} m ON m.{from_id} = ids.user_id
                WHERE ids.user_id IS NOT NULL
                """
            ).format(identity=identity, to_id=to_id, uid=uid, users=users, from_id=from_id,
                     migrations=migrations)
        )  # fmt: skip
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (user_id)").format(identity))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(merged))
        conn.execute(
            sql.SQL(
                """
                CREATE TABLE {merged} AS
                SELECT i.canonical_user_id AS user_id,
                       min({joindate}) AS joindate,
                       max({last_modified}) AS last_modified,
                       {latest},
                       count(*) AS heap_user_count
                FROM {users} u JOIN {identity} i ON i.user_id = u.{uid}
                GROUP BY i.canonical_user_id
                """
            ).format(merged=merged, joindate=_col("u", s.users.get("joindate"), "timestamptz"),
                     last_modified=last_modified, latest=sql.SQL(", ").join(latest), users=users,
                     identity=identity, uid=uid)
        )  # fmt: skip
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (user_id)").format(merged))
        return {
            s.identity_table: _count(conn, identity),
            s.merged_table: _count(conn, merged),
        }


def _count(conn: psycopg.Connection, table: sql.Composed) -> int:
    return fetch_row(conn, sql.SQL("SELECT count(*) FROM {}").format(table))[0]


def heap_identity_counts(
    conn: psycopg.Connection, schema: str, tables: tuple[str, ...] = (IDENTITY_TABLE, MERGED_TABLE)
) -> dict[str, int | None]:
    """Row count of each identity table, None for a table not built yet."""
    counts: dict[str, int | None] = {}
    for table in tables:
        exists = fetch_row(
            conn,
            "SELECT to_regclass(%s) IS NOT NULL",
            (_t(schema, table).as_string(conn),),
        )[0]
        counts[table] = _count(conn, _t(schema, table)) if exists else None
    return counts


def heap_identity_rows(
    conn: psycopg.Connection, schema: str, table: str, limit: int = 10
) -> tuple[list[str], list[tuple]]:
    """The first ``limit`` rows (by user_id) and the column names, for a quick look."""
    cur = conn.execute(
        sql.SQL("SELECT * FROM {} ORDER BY user_id LIMIT {}").format(
            _t(schema, table), sql.Literal(limit)
        )
    )
    return [d.name for d in cur.description or []], cur.fetchall()
