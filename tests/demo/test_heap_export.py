"""The demo Heap Connect export: what lands in S3 (over HTTP, moto's server) and its ground truth."""

import io
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import fastavro
import pytest
from moto.server import ThreadedMotoServer

from demo import (
    ALL_TABLES,
    NEW_USER_PROPERTY,
    TABLE_KEYS,
    HeapExportSpec,
    ensure_bucket,
    expected_counts,
    expected_tables,
    iter_dump_rows,
    make_s3_client,
    write_dated_export,
    write_heap_export,
)

# Most tests read the export the module writes once: each asks for it, so none depends on
# another having run first (alone, or in any order).
pytestmark = pytest.mark.usefixtures("export")

ROOT = Path(__file__).resolve().parents[2]
SPEC = HeapExportSpec(rows=3_000, dumps=4, seed=7, part_rows=150)
BUCKET = "heap-rs3-demo"
PART_NAME = re.compile(
    r"part-\d{5}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-c000\.avro"
)


@pytest.fixture(scope="module")
def endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3(endpoint):
    return make_s3_client(endpoint, "test", "test-secret")


@pytest.fixture(scope="module")
def export(s3):
    ensure_bucket(s3, BUCKET)
    ensure_bucket(s3, BUCKET)  # idempotent
    return write_heap_export(s3, BUCKET, SPEC)


def list_keys(s3, bucket, prefix=""):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def get_json(s3, bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def avro_reader(s3, bucket, key):
    return fastavro.reader(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def manifests(s3):
    found = [get_json(s3, BUCKET, key) for key in list_keys(s3, BUCKET, "manifests/")]
    return sorted(found, key=lambda m: m["dump_id"])


def read_table(s3, manifest_table):
    rows = []
    for url in manifest_table["files"]:
        assert url.startswith(f"s3://{BUCKET}/")
        rows += list(avro_reader(s3, BUCKET, url.removeprefix(f"s3://{BUCKET}/")))
    return rows


# -- layout and manifests -----------------------------------------------------------------


def test_one_manifest_per_dump_with_increasing_ids(s3, export):
    keys = list_keys(s3, BUCKET, "manifests/")
    assert sorted(keys) == [f"manifests/sync_{i}.json" for i in (850, 851, 852, 853)]
    ids = [m["dump_id"] for m in manifests(s3)]
    assert ids == [850, 851, 852, 853]
    assert [d.dump_id for d in export.dumps] == ids


def test_manifests_list_exactly_the_part_files_written(s3, export):
    for manifest in manifests(s3):
        dump_id = manifest["dump_id"]
        assert [t["name"] for t in manifest["tables"]] == list(ALL_TABLES)
        listed = {
            url.removeprefix(f"s3://{BUCKET}/") for t in manifest["tables"] for url in t["files"]
        }
        on_s3 = {k for k in list_keys(s3, BUCKET, f"sync_{dump_id}/") if k.endswith(".avro")}
        assert listed == on_s3
        for table in manifest["tables"]:
            for url in table["files"]:
                name = url.rsplit("/", 1)[1]
                assert url.startswith(f"s3://{BUCKET}/sync_{dump_id}/{table['name']}/part-")
                assert PART_NAME.fullmatch(name), name
        defs_key = manifest["property_definitions"].removeprefix(f"s3://{BUCKET}/")
        assert defs_key == f"sync_{dump_id}/property_definitions.json"
        assert {d["property_name"] for d in get_json(s3, BUCKET, defs_key)} >= {"plan"}
    assert sorted(export.files) == sorted(
        k for k in list_keys(s3, BUCKET, "sync_") if k.endswith(".avro")
    )


def test_incremental_flags(s3):
    flags = [{t["name"]: t["incremental"] for t in m["tables"]} for m in manifests(s3)]
    assert not any(flags[0].values())  # the first dump is a full sync
    for dump in flags:
        assert dump["user_migrations"] is False
    assert flags[1] == {t: t != "user_migrations" for t in ALL_TABLES}
    assert flags[2]["sessions"] is False and flags[2]["users"] is True  # resync of sessions
    assert flags[3]["sessions"] is True


def test_several_parts_per_table(s3):
    first, *rest = manifests(s3)
    for table in first["tables"]:
        if table["name"] != "user_migrations":
            assert len(table["files"]) >= 2, table["name"]
    # part_rows=150 splits big incremental tables too
    assert any(len(t["files"]) > 1 for m in rest for t in m["tables"])


def test_files_are_snappy_avro_with_the_manifest_columns(s3):
    for manifest in manifests(s3):
        for table in manifest["tables"]:
            for url in table["files"]:
                reader = avro_reader(s3, BUCKET, url.removeprefix(f"s3://{BUCKET}/"))
                assert reader.codec == "snappy"
                assert reader.metadata["avro.codec"] == "snappy"
                fields = reader.writer_schema["fields"]
                assert [f["name"] for f in fields] == table["columns"]


def test_types_timestamps_iso_strings_and_big_ids(s3):
    first = manifests(s3)[0]
    by_name = {t["name"]: t for t in first["tables"]}
    users_schema = avro_reader(
        s3, BUCKET, by_name["users"]["files"][0].split("/", 3)[3]
    ).writer_schema
    fields = {f["name"]: f["type"] for f in users_schema["fields"]}
    assert fields["user_id"] == "long"
    assert fields["email"] == ["null", "string"]
    assert fields["joindate"] == ["null", {"type": "long", "logicalType": "timestamp-millis"}]
    assert fields["last_modified"] == ["null", {"type": "long", "logicalType": "timestamp-millis"}]

    checkout = read_table(s3, by_name["checkout_completed"])
    assert all(isinstance(r["time"], str) and r["time"].endswith("Z") for r in checkout)
    pageviews = read_table(s3, by_name["pageviews"])
    assert all(r["time"].tzinfo is not None for r in pageviews)
    assert min(r["event_id"] for r in pageviews) > 2**53
    assert all(r["user_id"] > 2**32 and r["session_id"] > 2**32 for r in pageviews)


def test_file_contents_are_the_generated_rows(s3):
    for k, manifest in enumerate(manifests(s3)):
        for table in manifest["tables"]:
            assert read_table(s3, table) == list(iter_dump_rows(SPEC, table["name"], k))


# -- re-deliveries and ground truth -------------------------------------------------------


def test_users_are_redelivered_newer_with_changed_email(s3):
    dumps = manifests(s3)
    first = {r["user_id"]: r for r in read_table(s3, dumps[0]["tables"][0])}
    second = read_table(s3, dumps[1]["tables"][0])
    again = [r for r in second if r["user_id"] in first]
    assert len(again) >= 10
    for row in again:
        old = first[row["user_id"]]
        assert row["last_modified"] > old["last_modified"]
        assert row["email"] != old["email"]
        assert row["joindate"] == old["joindate"]


def test_events_are_redelivered_with_changes_and_duplicated_within_a_dump(s3):
    dumps = manifests(s3)
    first = {r["event_id"]: r for r in read_table(s3, dumps[0]["tables"][2])}
    second = read_table(s3, dumps[1]["tables"][2])
    again = [r for r in second if r["event_id"] in first]
    assert again and all(r["title"] != first[r["event_id"]]["title"] for r in again)
    ids = [r["event_id"] for r in second]
    assert len(ids) > len(set(ids))  # a row sent twice inside one dump


def apply_dumps(s3):
    """Apply the dumps as read back from S3, the way a loader should."""
    state = {t: {} for t in ALL_TABLES}
    for manifest in manifests(s3):
        for table in manifest["tables"]:
            name, key = table["name"], TABLE_KEYS[table["name"]]
            if not table["incremental"]:
                state[name] = {}
            for row in read_table(s3, table):
                old = state[name].get(row[key])
                if name == "users" and old and old["last_modified"] > row["last_modified"]:
                    continue
                state[name][row[key]] = row
    return state


def test_expected_tables_match_applying_the_files(s3):
    applied = apply_dumps(s3)
    expected = expected_tables(SPEC)
    assert set(expected) == set(ALL_TABLES)
    for table in ALL_TABLES:
        assert set(expected[table]) == set(applied[table]), table
        for pk, row in applied[table].items():
            assert {k: v for k, v in expected[table][pk].items() if k in row} == row
    assert expected_counts(SPEC) == {t: len(rows) for t, rows in applied.items()}


def test_expected_counts_after_redeliveries_and_resync(s3, export):
    expected = expected_tables(SPEC)
    delivered = {t: [] for t in ALL_TABLES}
    for dump in manifests(s3):
        for table in dump["tables"]:
            delivered[table["name"]] += [
                r[TABLE_KEYS[table["name"]]] for r in read_table(s3, table)
            ]
    # re-deliveries make more rows than keys
    for table in ("users", "pageviews", "sign_up_click_link", "checkout_completed"):
        assert len(delivered[table]) > len(set(delivered[table])) == len(expected[table])
    assert export.rows_per_table == {t: len(v) for t, v in delivered.items()}
    # the resync dropped some sessions: fewer than ever delivered
    assert len(expected["sessions"]) < len(set(delivered["sessions"]))
    # the resync filled in cities (replace, not ignore)
    resync = read_table(s3, manifests(s3)[2]["tables"][1])
    assert all(r["city"] is not None for r in resync)
    assert any(r["city"] is None for r in read_table(s3, manifests(s3)[0]["tables"][1]))
    # user_migrations is the last dump's full table
    last = read_table(s3, manifests(s3)[-1]["tables"][-1])
    assert len(expected["user_migrations"]) == len(last) > 0
    assert sum(export.rows_per_table.values()) == pytest.approx(SPEC.rows, rel=0.15)


def test_stale_user_copies_lose_to_the_latest_last_modified(s3):
    dumps = manifests(s3)
    expected = expected_tables(SPEC, ["users"])["users"]
    seen = {}
    stale = 0
    for manifest in dumps:
        for row in read_table(s3, manifest["tables"][0]):
            if row["user_id"] in seen and row["last_modified"] < seen[row["user_id"]]:
                stale += 1
            seen[row["user_id"]] = max(
                seen.get(row["user_id"], row["last_modified"]), row["last_modified"]
            )
    assert stale > 0
    assert all(expected[uid]["last_modified"] == lm for uid, lm in seen.items())


def test_new_user_property_arrives_in_the_last_dump(s3):
    columns = [
        next(t for t in m["tables"] if t["name"] == "users")["columns"] for m in manifests(s3)
    ]
    assert all(NEW_USER_PROPERTY not in c for c in columns[:-1])
    assert columns[-1][-1] == NEW_USER_PROPERTY
    users = expected_tables(SPEC, ["users"])["users"]
    assert all(NEW_USER_PROPERTY in row for row in users.values())
    assert any(row[NEW_USER_PROPERTY] is not None for row in users.values())
    no_flag = HeapExportSpec(rows=500, dumps=3, new_property=False)
    assert all(NEW_USER_PROPERTY not in r for r in iter_dump_rows(no_flag, "users", 2))


def test_same_spec_same_data_other_seed_other_data():
    assert list(iter_dump_rows(SPEC, "users", 1)) == list(iter_dump_rows(SPEC, "users", 1))
    other = HeapExportSpec(rows=3_000, dumps=4, seed=8, part_rows=150)
    assert list(iter_dump_rows(other, "users", 1)) != list(iter_dump_rows(SPEC, "users", 1))


def test_rewrite_is_idempotent(s3, export):
    again = write_heap_export(s3, BUCKET, SPEC)
    assert again.files == export.files and again.manifests == export.manifests


# -- the dated layout ---------------------------------------------------------------------


def test_dated_layout(s3):
    bucket = "dated-demo"
    ensure_bucket(s3, bucket)
    days = [date(2024, 5, d) for d in (1, 2, 3)]
    summary = write_dated_export(s3, bucket, days, rows=1_500, seed=3, prefix="path/to")
    names = sorted(list_keys(s3, bucket))
    assert names == sorted(
        f"path/to/{t}-2024-05-0{d}.avro"
        for t in ("users", "sessions", "pageviews")
        for d in (1, 2, 3)
    )
    assert sorted(summary.files) == names
    for key in names:
        assert avro_reader(s3, bucket, key).codec == "snappy"
    users = {}
    for day in ("01", "02", "03"):
        for row in avro_reader(s3, bucket, f"path/to/users-2024-05-{day}.avro"):
            old = users.get(row["user_id"])
            if not old or old["last_modified"] <= row["last_modified"]:
                users[row["user_id"]] = row
    assert users == expected_tables(summary.spec, ["users"])["users"]
    assert summary.rows_per_table["users"] > len(users)  # re-delivered on later days


# -- the management command ---------------------------------------------------------------


def test_management_command_writes_an_export(s3, endpoint):
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test-secret")
    result = subprocess.run(
        [sys.executable, "manage.py", "generate_heap_demo", "--skip-checks",
         "--bucket", "cmd-demo", "--endpoint-url", endpoint, "--rows", "800",
         "--dumps", "2", "--seed", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Wrote" in result.stdout
    assert sorted(list_keys(s3, "cmd-demo", "manifests/")) == [
        "manifests/sync_850.json",
        "manifests/sync_851.json",
    ]


def test_small_specs_still_have_every_feature():
    one = HeapExportSpec(rows=300, dumps=1)
    assert one.resync_index is None and one.new_property_index is None
    assert set(expected_counts(one)) == set(ALL_TABLES)
    two = HeapExportSpec(rows=300, dumps=2)
    assert two.resync_index == 1 and two.new_property_index == 1
    assert not two.incremental("sessions", 1) and two.incremental("users", 1)
    with pytest.raises(ValueError):
        HeapExportSpec(dumps=0)
    with pytest.raises(ValueError):
        HeapExportSpec(resync_table="users")
