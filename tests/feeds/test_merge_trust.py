"""The loader keeps the documented last-updated rule and never invents values, on real Postgres.

DOMAIN.md, "Last-updated rules" (generated updated field): newly loaded rows overwrite existing
ones; across a date range later file dates win; within one date the later-loaded file wins;
within one file the last row wins. A file that lacks some of the feed's columns changes only
the columns it has.

Every rule holds on each merge path: the in-place INSERT ... ON CONFLICT, the rebuild of a large
upsert (rebuild.py), truncate-and-load swapped in (swap.py) and truncate + INSERT.
"""

import uuid
from datetime import date

import pyarrow as pa
import pytest
from psycopg import sql

import feeds.loading.merge as merge
from feeds.loader import FieldSpec, LoadRejected, SourceFile, TableSpec, drop_table, load

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA = "domain_test"
DAY1, DAY2, DAY3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)


@pytest.fixture
def spec(conn):
    made = TableSpec(
        schema=SCHEMA,
        table=f"Trust:{uuid.uuid4().hex[:12]}",
        fields=[
            FieldSpec("user_id", "user_id", "integer"),
            FieldSpec("name", "name", "string"),
            FieldSpec("email", "email", "string"),
            FieldSpec("city", "city", "string"),
        ],
        primary_key=["user_id"],
        last_updated=None,  # "Generate an updated field (recommended)"
    )
    yield made
    drop_table(conn, made)


@pytest.fixture(params=["in place", "rebuild"])
def upsert_path(request, monkeypatch):
    """Run the upsert through the in-place merge or the rebuild of the whole table."""
    rebuild = request.param == "rebuild"
    monkeypatch.setattr(merge, "should_rebuild", lambda *a: rebuild)
    return request.param


@pytest.fixture(params=["swap", "truncate and insert"])
def truncate_path(request, monkeypatch):
    if request.param != "swap":
        monkeypatch.setattr(merge, "can_swap", lambda *a: False)
    return request.param


def csv(**columns):
    """A batch as the CSV reader yields it: every column a string."""
    return pa.RecordBatch.from_pydict({k: pa.array(v, pa.string()) for k, v in columns.items()})


def day_file(day, *ids, suffix=""):
    """users-<day>.csv: each user's name and email say which file they came from."""
    tag = f"{day:%m%d}{suffix}"
    return SourceFile(
        f"users-{day}{suffix}.csv",
        [
            csv(
                user_id=[str(i) for i in ids],
                name=[f"n{i}-{tag}" for i in ids],
                email=[f"e{i}-{tag}" for i in ids],
                city=[f"c{i}-{tag}" for i in ids],
            )
        ],
        file_date=day,
    )


def table(conn, spec, *cols):
    cols = cols or ("user_id", "name", "email", "city")
    query = sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
        sql.SQL(", ").join(map(sql.Identifier, cols)), sql.Identifier(spec.schema, spec.table)
    )
    return conn.execute(query).fetchall()


# ------------------------------------------------------------------ the last-updated rule
def test_backfilling_older_days_keeps_the_newer_rows(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY3, 1)], truncate=True)
    second = load(conn, spec, [day_file(DAY2, 1, 2)])
    third = load(conn, spec, [day_file(DAY1, 1, 2, 3)])
    assert table(conn, spec, "user_id", "name") == [(1, "n1-0103"), (2, "n2-0102"), (3, "n3-0101")]
    assert (second.inserted, second.updated, second.skipped) == (1, 0, 1)
    assert (third.inserted, third.updated, third.skipped) == (1, 0, 2)


def test_a_newer_day_overwrites_and_the_same_day_again_overwrites(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY1, 1, 2)])
    newer = load(conn, spec, [day_file(DAY2, 1)])
    assert (newer.updated, newer.skipped) == (1, 0)
    again = load(conn, spec, [day_file(DAY2, 2, suffix="-b")])  # same date, loaded later: wins
    assert (again.updated, again.skipped) == (1, 0)
    assert table(conn, spec, "user_id", "name") == [(1, "n1-0102"), (2, "n2-0102-b")]


def test_within_one_load_the_later_file_date_wins_whatever_the_order(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY1, 9)])  # a non-empty table: the merge, not a plain insert
    files = [day_file(DAY3, 1), day_file(DAY1, 1, 2), day_file(DAY2, 2)]
    load(conn, spec, files)
    assert table(conn, spec, "user_id", "name") == [(1, "n1-0103"), (2, "n2-0102"), (9, "n9-0101")]


def test_truncate_and_load_dedupes_by_file_date_then_load_order(conn, spec, truncate_path):
    load(conn, spec, [day_file(DAY1, 7)])
    files = [day_file(DAY3, 1), day_file(DAY1, 1, 2), day_file(DAY1, 2, suffix="-b")]
    result = load(conn, spec, files, truncate=True)
    assert table(conn, spec, "user_id", "name") == [(1, "n1-0103"), (2, "n2-0101-b")]
    assert (result.inserted, result.duplicates) == (2, 2)


def test_undated_files_count_as_dated_the_day_they_are_loaded(conn, spec, upsert_path):
    today = conn.execute("SELECT (now() AT TIME ZONE 'UTC')::date").fetchone()[0]
    load(conn, spec, [day_file(DAY1, 1, 2)])
    snapshot = SourceFile("users.csv", [csv(user_id=["1", "2"], name=["snap1", "snap2"])])
    load(conn, spec, [snapshot])  # undated, loaded today: newer than January's file
    load(conn, spec, [day_file(DAY2, 1)])  # an older date than today: kept out
    assert table(conn, spec, "user_id", "name") == [(1, "snap1"), (2, "snap2")]
    dates = table(conn, spec, "user_id", "_file_date")
    assert dates == [(1, today), (2, today)]


def test_rows_loaded_before_file_dates_were_kept_count_as_oldest(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY3, 1)])
    target = sql.Identifier(spec.schema, spec.table)
    conn.execute(sql.SQL("ALTER TABLE {} DROP COLUMN _file_date").format(target))  # an old table
    result = load(conn, spec, [day_file(DAY1, 1)])  # the column comes back, empty for old rows
    assert (result.updated, result.skipped) == (1, 0)
    assert result.table_changes == []  # a hidden column: nothing to tell the user
    assert table(conn, spec, "user_id", "name", "_file_date") == [(1, "n1-0101", DAY1)]


def test_the_generated_updated_field_is_the_load_time_of_the_row(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY3, 1)])
    (first,) = table(conn, spec, "_updated")
    load(conn, spec, [day_file(DAY1, 1)])  # kept out: the row, and its _updated, stay
    assert table(conn, spec, "_updated") == [first]
    load(conn, spec, [day_file(DAY3, 1, suffix="-b")])
    assert table(conn, spec, "_updated")[0][0] > first[0]


# ------------------------------------------------------------------ absent columns
def test_columns_missing_from_a_file_keep_their_stored_values(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY1, 1, 2)])
    partial = SourceFile(
        "users-2024-01-02.csv", [csv(user_id=["1", "3"], name=["Ann", "Cy"])], file_date=DAY2
    )
    result = load(conn, spec, [partial])
    assert (result.inserted, result.updated) == (1, 1)
    assert result.absent_columns == {"users-2024-01-02.csv": ["email", "city"]}
    assert table(conn, spec) == [
        (1, "Ann", "e1-0101", "c1-0101"),
        (2, "n2-0101", "e2-0101", "c2-0101"),
        (3, "Cy", None, None),
    ]


def test_files_with_different_columns_in_one_load_each_change_only_theirs(conn, spec, upsert_path):
    load(conn, spec, [day_file(DAY1, 1, 2, 3)])
    files = [
        SourceFile("emails.csv", [csv(user_id=["1", "2"], email=["new1", "new2"])], DAY2),
        SourceFile("full.csv", [csv(user_id=["2"], name=["N2"], email=["full2"], city=["C2"])],
                   DAY2),
        SourceFile("names.csv", [csv(user_id=["1", "3"], name=["N1", "N3"])], DAY3),
        SourceFile("old.csv", [csv(user_id=["3"], city=["old3"])], DAY1),
    ]  # fmt: skip
    result = load(conn, spec, files)
    assert table(conn, spec) == [
        (1, "N1", "new1", "c1-0101"),
        (2, "N2", "full2", "C2"),
        (3, "N3", "e3-0101", "c3-0101"),  # old.csv is dated before the row's day-3 name
    ]
    assert result.absent_columns == {
        "emails.csv": ["name", "city"],
        "names.csv": ["email", "city"],
        "old.csv": ["name", "email"],
    }


def test_a_file_without_a_required_column_is_refused_by_name(conn, spec, upsert_path):
    spec.fields[2].required = True  # email
    load(conn, spec, [day_file(DAY1, 1)])
    before = table(conn, spec)
    files = [day_file(DAY2, 2), SourceFile("users.csv", [csv(user_id=["1"], name=["x"])], DAY2)]
    with pytest.raises(LoadRejected) as refused:
        load(conn, spec, files)
    assert (
        str(refused.value)
        == "users.csv: required column email is missing; the file was not loaded."
    )
    assert table(conn, spec) == before


def test_a_file_without_its_key_column_is_refused_by_name(conn, spec, truncate_path):
    load(conn, spec, [day_file(DAY1, 1)])
    before = table(conn, spec)
    with pytest.raises(LoadRejected) as refused:
        load(conn, spec, [SourceFile("users.csv", [csv(name=["x"])])], truncate=True)
    assert str(refused.value) == (
        "users.csv: primary key column user_id is missing; the file was not loaded."
    )
    assert table(conn, spec) == before


def test_truncate_leaves_columns_missing_from_the_file_empty(conn, spec, truncate_path):
    load(conn, spec, [day_file(DAY1, 1, 2)])
    partial = SourceFile("users.csv", [csv(user_id=["1"], name=["Ann"])])
    result = load(conn, spec, [partial], truncate=True)
    assert table(conn, spec) == [(1, "Ann", None, None)]
    assert result.absent_columns == {"users.csv": ["email", "city"]}


def test_an_empty_export_does_not_empty_the_table_when_asked_to_keep_it(conn, spec, truncate_path):
    load(conn, spec, [day_file(DAY1, 1, 2)])
    before = table(conn, spec)
    header_only = SourceFile("users.csv", [csv(user_id=[], name=[], email=[], city=[])], DAY2)
    result = load(conn, spec, [header_only], truncate=True, keep_when_empty=True)
    assert result.kept and result.rows_read == 0
    assert table(conn, spec) == before
    emptied = load(conn, spec, [header_only], truncate=True)  # the loader's plain meaning
    assert not emptied.kept and table(conn, spec) == []
