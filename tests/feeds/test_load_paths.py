"""The loader's fast paths give the same tables as the plain ones, on real Postgres.

Truncate-and-load swaps in a table built without indexes; a large upsert rebuilds the table.
"""

import uuid

import pyarrow as pa
import pytest
from psycopg import sql

import feeds.loading.merge as merge
from feeds.loader import PK_SEPARATOR, FieldSpec, SourceFile, TableSpec, drop_table, load

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = "domain_test"


def make_spec(last_updated=None, fields=None, key=("user_id",)):
    return TableSpec(
        schema=SCHEMA,
        table=f"Test:{uuid.uuid4().hex[:12]}",
        fields=fields
        or [
            FieldSpec("user_id", "user_id", "integer"),
            FieldSpec("email", "email", "string"),
            FieldSpec("seen", "seen", "datetime"),
        ],
        primary_key=list(key),
        last_updated=last_updated,
    )


@pytest.fixture
def specs(conn):
    made = []

    def factory(**kw):
        made.append(make_spec(**kw))
        return made[-1]

    yield factory
    for spec in made:
        drop_table(conn, spec)


def batch(**columns):
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def select(conn, spec, *cols):
    query = sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
        sql.SQL(", ").join(map(sql.Identifier, cols or ("user_id", "email"))),
        sql.Identifier(spec.schema, spec.table),
    )
    return conn.execute(query).fetchall()


def indexes(conn, spec):
    return conn.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (spec.schema, spec.table),
    ).fetchall()


def leftovers(conn):
    return conn.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename LIKE '\\_load\\_%%'",
        (SCHEMA,),
    ).fetchone()[0]


def test_truncate_swaps_in_new_rows_latest_wins_and_keeps_the_key(conn, specs):
    spec = specs()
    load(conn, spec, [SourceFile("a.csv", [batch(user_id=["1", "2", "3"], email=["a"] * 3)])])
    files = [
        SourceFile("b.csv", [batch(user_id=["7", "8", "7"], email=["b1", "b2", "b3"])]),
        SourceFile("c.csv", [batch(user_id=["8", "9"], email=["c1", "c2"])]),
    ]
    result = load(conn, spec, files, truncate=True)
    assert (result.inserted, result.updated, result.duplicates) == (3, 0, 2)
    assert select(conn, spec) == [(7, "b3"), (8, "c1"), (9, "c2")]
    assert indexes(conn, spec) == [(f"{spec.table}_pkey",)]
    assert leftovers(conn) == 0
    # The swapped-in table takes upserts like the old one (the "_pk" text is the same).
    again = load(conn, spec, [SourceFile("d.csv", [batch(user_id=["9", "10"], email=["x"] * 2)])])
    assert (again.inserted, again.updated) == (1, 1)


def test_truncate_swap_respects_the_last_updated_field(conn, specs):
    spec = specs(last_updated="seen")
    files = [
        SourceFile("a.csv", [batch(user_id=["1", "2"], email=["new", "a2"],
                                   seen=["2024-05-01", None])]),
        SourceFile("b.csv", [batch(user_id=["1", "2"], email=["old", "b2"],
                                   seen=["2024-04-01", None])]),
    ]  # fmt: skip
    result = load(conn, spec, files, truncate=True)
    assert (result.inserted, result.duplicates) == (2, 2)
    assert select(conn, spec) == [(1, "new"), (2, "b2")]  # null = oldest; tie: later file


def test_client_computed_compound_key_equals_the_sql_one(conn, specs):
    fields = [
        FieldSpec("a", "a", "string"),
        FieldSpec("n", "n", "integer"),
        FieldSpec("d", "d", "date"),
        FieldSpec("b", "b", "boolean"),
        FieldSpec("v", "v", "string"),
    ]
    spec = specs(fields=fields, key=("a", "n", "d", "b"))
    rows = batch(
        a=["x" + PK_SEPARATOR, "x\\", "é"],
        n=["-1", "2", "30000000000"],
        d=["2024-01-02", "0999-12-31", "2024-02-29"],
        b=["true", "no", "1"],
        v=["1", "2", "3"],
    )
    load(conn, spec, [SourceFile("a.csv", [rows])], truncate=True)  # keys made in Arrow
    merge_rows = rows.set_column(4, "v", pa.array(["u1", "u2", "u3"]))
    again = load(conn, spec, [SourceFile("b.csv", [merge_rows])])  # keys made in SQL
    assert (again.inserted, again.updated) == (0, 3)
    assert select(conn, spec, "v") == [("u1",), ("u2",), ("u3",)]


def test_a_view_on_the_table_keeps_working_through_truncate(conn, specs):
    spec = specs()
    load(conn, spec, [SourceFile("a.csv", [batch(user_id=["1"], email=["a"])])])
    view = sql.Identifier(SCHEMA, f"{spec.table} view")
    conn.execute(
        sql.SQL("CREATE VIEW {} AS SELECT user_id FROM {}").format(
            view, sql.Identifier(SCHEMA, spec.table)
        )
    )
    try:
        load(conn, spec, [SourceFile("b.csv", [batch(user_id=["5", "6"])])], truncate=True)
        assert conn.execute(sql.SQL("SELECT * FROM {} ORDER BY 1").format(view)).fetchall() == [
            (5,),
            (6,),
        ]
    finally:
        conn.execute(sql.SQL("DROP VIEW {}").format(view))


def test_large_upsert_rebuild_matches_in_place_merge(conn, specs, monkeypatch):
    first = batch(
        user_id=[str(i) for i in range(1, 9)],
        email=[f"e{i}" for i in range(1, 9)],
        seen=["2024-03-01"] * 7 + [None],
    )
    second = [
        batch(user_id=["1", "2", "9", "2"], email=["n1", "old2", "n9", "n2"],
              seen=["2024-04-01", "2024-01-01", "2024-04-01", "2024-03-01"]),
        batch(user_id=["8", "3", "10", "5"], email=["n8", "n3", None, "stale"],
              seen=["2024-01-01", "2024-03-01", None, "2024-01-01"]),
    ]  # fmt: skip
    outcomes = []
    for rebuild in (True, False):
        monkeypatch.setattr(merge, "should_rebuild", lambda *a, rebuild=rebuild: rebuild)
        spec = specs(last_updated="seen")
        load(conn, spec, [SourceFile("a.csv", [first])], truncate=True)
        # A column dropped from the feed is kept, and keeps its values, either way.
        spec.fields = spec.fields + [FieldSpec("extra", "extra", "string")]
        extra = batch(user_id=["1"], email=["e1"], seen=["2024-03-01"], extra=["kept"])
        load(conn, spec, [SourceFile("x.csv", [extra])])
        spec.fields = spec.fields[:-1]
        result = load(conn, spec, [SourceFile("b.csv", second)])
        counts = (result.inserted, result.updated, result.skipped, result.duplicates)
        outcomes.append((counts, select(conn, spec, "user_id", "email", "seen", "extra")))
        assert indexes(conn, spec) == [(f"{spec.table}_pkey",)]
    assert outcomes[0] == outcomes[1]
    counts, contents = outcomes[0]
    assert counts == (2, 4, 1, 1)
    assert [r[:2] for r in contents] == [
        (1, "n1"), (2, "n2"), (3, "n3"), (4, "e4"), (5, "e5"), (6, "e6"), (7, "e7"), (8, "n8"),
        (9, "n9"), (10, None),
    ]  # fmt: skip
    assert contents[0][3] == "kept"
    assert leftovers(conn) == 0


def oid(conn, spec):
    name = sql.Identifier(spec.schema, spec.table).as_string(conn)
    return conn.execute("SELECT %s::regclass::oid", (name,)).fetchone()[0]


def index_defs(conn, spec):
    return conn.execute(
        "SELECT indexname, regexp_replace(indexdef, ' ON .* USING ', ' USING ') FROM pg_indexes"
        " WHERE schemaname = %s AND tablename = %s ORDER BY 1",
        (spec.schema, spec.table),
    ).fetchall()


def test_sort_indexes_survive_truncate_and_rebuild_on_the_swap_path(conn, specs, monkeypatch):
    spec = specs()
    load(conn, spec, [SourceFile("a.csv", [batch(user_id=["1", "2"], email=["b", "a"])])])
    table = sql.Identifier(SCHEMA, spec.table)
    conn.execute(sql.SQL('CREATE INDEX "sort email" ON {} (email, "_pk")').format(table))
    conn.execute(
        sql.SQL('CREATE INDEX "sort seen" ON {} (seen DESC NULLS LAST, user_id)').format(table)
    )
    before = index_defs(conn, spec)
    assert len(before) == 3
    first_oid = oid(conn, spec)
    load(conn, spec, [SourceFile("b.csv", [batch(user_id=["5", "6"], email=["y", "x"])])],
         truncate=True)  # fmt: skip
    assert oid(conn, spec) != first_oid  # a new table was swapped in ...
    assert index_defs(conn, spec) == before  # ... with the same indexes, names and options
    assert select(conn, spec) == [(5, "y"), (6, "x")]
    monkeypatch.setattr(merge, "should_rebuild", lambda *a: True)
    swapped_oid = oid(conn, spec)
    load(conn, spec, [SourceFile("c.csv", [batch(user_id=["6", "7"], email=["z", "w"])])])
    assert oid(conn, spec) != swapped_oid and index_defs(conn, spec) == before
    assert leftovers(conn) == 0
    query = sql.SQL('EXPLAIN SELECT * FROM {} ORDER BY email, "_pk" LIMIT 1').format(table)
    conn.execute("SET enable_seqscan = off")
    try:
        plan = "\n".join(r[0] for r in conn.execute(query))
    finally:
        conn.execute("RESET enable_seqscan")
    assert '"sort email"' in plan


def test_a_unique_or_partial_index_keeps_the_truncate_path(conn, specs):
    spec = specs()
    load(conn, spec, [SourceFile("a.csv", [batch(user_id=["1"], email=["a"])])])
    table = sql.Identifier(SCHEMA, spec.table)
    conn.execute(
        sql.SQL('CREATE INDEX "partial" ON {} (email) WHERE email IS NOT NULL').format(table)
    )
    first_oid = oid(conn, spec)
    load(conn, spec, [SourceFile("b.csv", [batch(user_id=["5"], email=["x"])])], truncate=True)
    assert oid(conn, spec) == first_oid and select(conn, spec) == [(5, "x")]
    assert ("partial",) in indexes(conn, spec)
