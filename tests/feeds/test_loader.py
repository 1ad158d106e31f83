"""The loading engine against real Postgres: what a user sees in the domain table after a load."""

import threading
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pyarrow as pa
import pytest
from psycopg import sql

from amperity_sources.db import domain_connection
from feeds.loader import (
    PK_SEPARATOR,
    FieldSpec,
    LoadRejected,
    LoadStopped,
    SourceFile,
    SpecError,
    TableSpec,
    drop_table,
    ensure_table,
    load,
    table_exists,
    truncate_table,
)

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = "domain_test"


@pytest.fixture
def users(conn):
    spec = TableSpec(
        schema=SCHEMA,
        table=f"Test:{uuid.uuid4().hex[:12]}",
        fields=[
            FieldSpec("user_id", "user_id", "integer"),
            FieldSpec("email", "Email", "string"),
            FieldSpec("joindate", "joindate", "date"),
            FieldSpec("last_modified", "last_modified", "datetime"),
            FieldSpec("score", "score", "float"),
            FieldSpec("active", "active", "boolean"),
            FieldSpec("balance", "balance", "decimal", precision=10, scale=2),
        ],
        primary_key=["user_id"],
        last_updated=None,
    )
    yield spec
    drop_table(conn, spec)


def csv_batch(**columns):
    """A batch as the CSV reader yields it: every column a string."""
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def rows(**columns):
    n = len(next(iter(columns.values())))
    defaults = {"Email": [f"u{i}@x.io" for i in range(n)]}
    return csv_batch(**(defaults | columns))


def contents(conn, spec, *cols):
    cols = cols or tuple(f.name for f in spec.fields)
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY {}").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)),
        sql.Identifier(spec.schema),
        sql.Identifier(spec.table),
        sql.SQL(", ").join(map(sql.Identifier, cols)),
    )
    return conn.execute(query).fetchall()


def full_contents(conn, spec):
    """Every column, including _pk, _updated and _loaded_at: 'exactly as before'."""
    query = sql.SQL("SELECT * FROM {}.{} ORDER BY _pk").format(
        sql.Identifier(spec.schema), sql.Identifier(spec.table)
    )
    return conn.execute(query).fetchall()


def test_creates_quoted_table_with_typed_columns(conn, users):
    assert not table_exists(conn, SCHEMA, users.table)
    changes = ensure_table(conn, users)
    assert changes == [f"created table {SCHEMA}.{users.table}"]
    assert table_exists(conn, SCHEMA, users.table)
    types = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            (SCHEMA, users.table),
        ).fetchall()
    )
    assert types == {
        "user_id": "bigint",
        "email": "text",
        "joindate": "date",
        "last_modified": "timestamp with time zone",
        "score": "double precision",
        "active": "boolean",
        "balance": "numeric",
        "_pk": "text",
        "_updated": "timestamp with time zone",
        "_file_date": "date",
        "_loaded_at": "timestamp with time zone",
    }
    assert ensure_table(conn, users) == []  # idempotent


def test_ensure_table_adds_new_columns(conn, users):
    ensure_table(conn, users)
    users.fields.append(FieldSpec("plan", "plan", "string"))
    assert ensure_table(conn, users) == ["added column plan (text)"]


def test_spec_errors_are_readable():
    spec = TableSpec(SCHEMA, "Heap:Users", [FieldSpec("_pk", "x", "string")], ["_pk"], None)
    with pytest.raises(SpecError, match="reserved"):
        spec.validate()
    spec = TableSpec(SCHEMA, "Heap:Users", [FieldSpec("a", "a", "string")], ["b"], None)
    with pytest.raises(SpecError, match="no field named 'b'"):
        spec.validate()
    spec = TableSpec(SCHEMA, "Heap:Users", [FieldSpec("a", "a", "string")], ["a"], "a")
    with pytest.raises(SpecError, match="a datetime, a timestamp or an integer"):
        spec.validate()


def test_converts_strings_to_field_types(conn, users):
    batch = rows(
        user_id=["1", " 2 "],
        joindate=["2024-03-01", "2024-03-02T10:00:00"],
        last_modified=["2024-03-01 12:30:00", "2024-03-01T12:30:00+02:00"],
        score=["1.5", ""],
        active=["Yes", "f"],
        balance=["12.5", "-0.99"],
    )
    result = load(conn, users, [SourceFile("users.csv", [batch])])
    assert (result.rows_read, result.inserted, result.rejected) == (2, 2, 0)
    assert contents(conn, users) == [
        (
            1,
            "u0@x.io",
            date(2024, 3, 1),
            datetime(2024, 3, 1, 12, 30, tzinfo=UTC),
            1.5,
            True,
            Decimal("12.50"),
        ),
        (
            2,
            "u1@x.io",
            date(2024, 3, 2),
            datetime(2024, 3, 1, 10, 30, tzinfo=UTC),
            None,
            False,
            Decimal("-0.99"),
        ),
    ]


def test_typed_batches_load_as_is(conn, users):
    batch = pa.RecordBatch.from_pydict(
        {
            "user_id": pa.array([2**62], pa.int64()),
            "Email": pa.array(["a@b.c"]),
            "last_modified": pa.array(
                [datetime(2024, 1, 2, 3, 4, 5, 123456)], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    load(conn, users, [SourceFile("users.avro", lambda: iter([batch]))])
    assert contents(conn, users, "user_id", "last_modified", "joindate") == [
        (2**62, datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC), None)
    ]


def test_upsert_inserts_then_updates(conn, users):
    first = load(conn, users, [SourceFile("a.csv", [rows(user_id=["1", "2"])])])
    assert (first.inserted, first.updated) == (2, 0)
    second = load(
        conn,
        users,
        [SourceFile("b.csv", [rows(user_id=["2", "3"], Email=["new2", "new3"])])],
    )
    assert (second.inserted, second.updated, second.rows_read) == (1, 1, 2)
    assert contents(conn, users, "user_id", "email") == [(1, "u0@x.io"), (2, "new2"), (3, "new3")]


def test_compound_key_is_unambiguous(conn):
    spec = TableSpec(
        SCHEMA,
        f"Test:{uuid.uuid4().hex[:12]}",
        [
            FieldSpec("a", "a", "string"),
            FieldSpec("b", "b", "string"),
            FieldSpec("n", "n", "integer"),
            FieldSpec("v", "v", "string"),
        ],
        primary_key=["a", "b", "n"],
        last_updated=None,
    )
    try:
        # ("x\x1f", "y") and ("x", "\x1fy") would collide if the parts were simply joined.
        batch = csv_batch(
            a=["x" + PK_SEPARATOR, "x", "x", "x"],
            b=["y", PK_SEPARATOR + "y", "y", "y"],
            n=["1", "1", "1", "2"],
            v=["first", "second", "third", "fourth"],
        )
        result = load(conn, spec, [SourceFile("pairs.csv", [batch])])
        assert (result.inserted, result.rejected) == (4, 0)
        again = load(
            conn, spec, [SourceFile("more.csv", [csv_batch(a=["x"], b=["y"], n=["01"], v=["5th"])])]
        )
        assert (again.inserted, again.updated) == (0, 1)  # "01" is the integer 1
        assert sorted(
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT v FROM {}.{}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(spec.table)
                )
            )
        ) == ["5th", "first", "fourth", "second"]
        pks = {
            r[0]
            for r in conn.execute(
                sql.SQL("SELECT _pk FROM {}.{}").format(
                    sql.Identifier(SCHEMA), sql.Identifier(spec.table)
                )
            )
        }
        assert pks == {"x\\x1f\x1fy\x1f1", "x\x1f\\x1fy\x1f1", "x\x1fy\x1f1", "x\x1fy\x1f2"}
    finally:
        drop_table(conn, spec)


def test_duplicates_within_a_file_last_row_wins(conn, users):
    batches = [
        rows(user_id=["1", "2"], Email=["a", "b"]),
        rows(user_id=["1", "1"], Email=["c", "d"]),
    ]
    result = load(conn, users, [SourceFile("users.csv", batches)])
    assert (result.rows_read, result.inserted, result.duplicates) == (4, 2, 2)
    assert contents(conn, users, "user_id", "email") == [(1, "d"), (2, "b")]


def test_duplicates_across_files_later_file_wins(conn, users):
    files = [
        SourceFile("users-2024-01-01.csv", [rows(user_id=["1", "2"], Email=["old1", "old2"])]),
        SourceFile("users-2024-01-02.csv", [rows(user_id=["1"], Email=["new1"])]),
    ]
    result = load(conn, users, files)
    assert (result.inserted, result.files) == (2, 2)
    assert contents(conn, users, "user_id", "email") == [(1, "new1"), (2, "old2")]


def test_last_updated_field_beats_file_order(conn, users):
    users.last_updated = "last_modified"
    files = [
        SourceFile(
            "a.csv",
            [
                rows(
                    user_id=["1", "2"],
                    Email=["newer", "x"],
                    last_modified=["2024-05-01", "2024-01-01"],
                )
            ],
        ),
        SourceFile(
            "b.csv",
            [
                rows(
                    user_id=["1", "2"],
                    Email=["older", "y"],
                    last_modified=["2024-04-01", "2024-01-01"],
                )
            ],
        ),
    ]
    load(conn, users, files)
    assert contents(conn, users, "user_id", "email") == [(1, "newer"), (2, "y")]  # tie: later file
    # A later load with an older row does not overwrite the newer row already in the table.
    result = load(
        conn,
        users,
        [
            SourceFile(
                "c.csv",
                [
                    rows(
                        user_id=["1", "2"],
                        Email=["stale", "fresh"],
                        last_modified=["2024-02-01", "2024-06-01"],
                    )
                ],
            )
        ],
    )
    assert (result.updated, result.skipped) == (1, 1)
    assert contents(conn, users, "user_id", "email") == [(1, "newer"), (2, "fresh")]


def test_truncate_and_load_replaces(conn, users):
    load(conn, users, [SourceFile("a.csv", [rows(user_id=["1", "2", "3"])])])
    result = load(conn, users, [SourceFile("b.csv", [rows(user_id=["7"])])], truncate=True)
    assert (result.inserted, result.updated) == (1, 0)
    assert contents(conn, users, "user_id") == [(7,)]
    truncate_table(conn, users)
    assert contents(conn, users, "user_id") == []


def test_rejects_name_file_row_field_and_reason(conn, users):
    users.error_threshold = 100
    users.fields[1].required = True  # email
    batches = [
        rows(user_id=["1", "2"], joindate=["2024-01-01", "2024-13-45"]),
        rows(user_id=["3", "", "x5"], Email=["a", "b", ""], score=["1", "2", "abc"]),
    ]
    result = load(conn, users, [SourceFile("users.csv", batches)])
    assert (result.rows_read, result.rejected, result.inserted) == (5, 3, 2)
    assert [(r.file, r.row, r.field, r.value, r.reason) for r in result.rejects] == [
        ("users.csv", 2, "joindate", "2024-13-45", "is not a date (YYYY-MM-DD)"),
        ("users.csv", 4, "user_id", None, "primary key value is missing"),
        ("users.csv", 5, "user_id", "x5", "is not a 64-bit integer"),
        ("users.csv", 5, "email", None, "required value is missing"),
        ("users.csv", 5, "score", "abc", "is not a number"),
    ]
    assert contents(conn, users, "user_id") == [(1,), (3,)]


def test_missing_column_is_nulls(conn, users):
    result = load(conn, users, [SourceFile("a.csv", [csv_batch(user_id=["1"], extra=["?"])])])
    assert result.rejected == 0
    assert contents(conn, users, "user_id", "email") == [(1, None)]


def test_over_threshold_rejects_everything_and_leaves_table_exactly(conn, users):
    load(conn, users, [SourceFile("a.csv", [rows(user_id=[str(i) for i in range(1, 101)])])])
    before = full_contents(conn, users)
    bad = rows(
        user_id=[str(i) for i in range(50, 250)],
        joindate=["2024-13-45", "2024-01-01"] + ["2024-01-01"] * 198,
    )
    bad2 = rows(user_id=["250", "251"], joindate=["nope", "2024-02-30"])
    with pytest.raises(LoadRejected) as caught:
        load(conn, users, [SourceFile("users.csv", [bad, bad2])], truncate=True)
    assert str(caught.value) == (
        "3 of 202 rows rejected (1.5%), over the feed's 1% error threshold; nothing was written. "
        'First: users.csv row 1, field joindate: "2024-13-45" is not a date (YYYY-MM-DD)'
    )
    assert caught.value.result.rejects[1].row == 201
    assert full_contents(conn, users) == before


def test_failure_half_way_leaves_table_as_before(conn, users):
    load(conn, users, [SourceFile("a.csv", [rows(user_id=["1", "2"])])])
    before = full_contents(conn, users)

    def broken():
        yield rows(user_id=["1", "5"], Email=["changed", "new"])
        yield rows(user_id=["6"])
        raise OSError("connection reset while reading users.csv")

    with pytest.raises(OSError, match="connection reset"):
        load(conn, users, [SourceFile("users.csv", broken)], truncate=True)
    assert full_contents(conn, users) == before


def test_should_stop_rolls_back(conn, users):
    load(conn, users, [SourceFile("a.csv", [rows(user_id=["1", "2"])])])
    before = full_contents(conn, users)
    progress = []
    with pytest.raises(LoadStopped) as caught:
        load(
            conn,
            users,
            [SourceFile("b.csv", [rows(user_id=["3"]), rows(user_id=["4"]), rows(user_id=["5"])])],
            truncate=True,
            should_stop=lambda: len(progress) >= 2,
            on_progress=progress.append,
        )
    assert progress == [1, 2]
    assert caught.value.result.rows_read == 2
    assert full_contents(conn, users) == before


def test_load_inside_callers_transaction(users):
    with domain_connection() as conn:  # not autocommit
        load(conn, users, [SourceFile("a.csv", [rows(user_id=["1"])])])
        conn.commit()
        assert contents(conn, users, "user_id") == [(1,)]
        conn.commit()
        drop_table(conn, users)
        conn.commit()


def test_concurrent_reader_never_sees_an_empty_table(conn, users):
    load(conn, users, [SourceFile("a.csv", [rows(user_id=[str(i) for i in range(500)])])])
    done = threading.Event()
    errors = []

    def slow_batches():
        for start in range(0, 1000, 100):
            time.sleep(0.05)
            yield rows(user_id=[str(i) for i in range(start, start + 100)])

    def loader():
        try:
            with domain_connection(autocommit=True) as c:
                load(c, users, [SourceFile("b.csv", slow_batches)], truncate=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    counts = []
    thread = threading.Thread(target=loader)
    with domain_connection(autocommit=True) as reader:
        reader.execute("SET lock_timeout = '20s'")
        thread.start()
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(SCHEMA), sql.Identifier(users.table)
        )
        while not done.is_set():
            counts.append(reader.execute(query).fetchone()[0])
            time.sleep(0.01)
        counts.append(reader.execute(query).fetchone()[0])
    thread.join()
    assert not errors
    assert len(counts) > 5 and 0 not in counts
    assert counts[0] == 500 and counts[-1] == 1000


def test_bad_connection_state_is_not_hidden(users):
    with domain_connection(autocommit=True) as conn:
        conn.close()
        with pytest.raises(psycopg.OperationalError):
            load(conn, users, [SourceFile("a.csv", [rows(user_id=["1"])])])
