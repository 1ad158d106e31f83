"""Heap's identity rule in the domain schema vs the same rule computed in Python."""

import pytest
from django.conf import settings
from psycopg import sql

from amperity_sources.db import domain_connection
from couriers.pipeline import courier_run_execute
from couriers.services.runs import courier_run_start
from demo import expected_tables
from feeds.loading.identity import IDENTITY_TABLE, MERGED_TABLE

pytestmark = pytest.mark.django_db(transaction=True)


def table(name):
    with domain_connection() as conn:
        cur = conn.execute(
            sql.SQL("SELECT * FROM {}.{}").format(
                sql.Identifier(settings.DOMAIN_SCHEMA), sql.Identifier(name)
            )
        )
        names = [d.name for d in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def python_identity(truth):
    users, migrations = truth["users"], truth["user_migrations"]
    to = {m["from_user_id"]: m["to_user_id"] for m in migrations.values()}
    ids = set(users) | set(to) | set(to.values())
    canonical = {uid: to.get(uid, uid) for uid in ids}
    groups: dict[int, list[dict]] = {}
    for uid, row in users.items():
        groups.setdefault(canonical[uid], []).append(row)
    merged = {}
    for cid, rows in groups.items():
        newest_first = sorted(rows, key=lambda r: (r["last_modified"], r["user_id"]), reverse=True)
        merged[cid] = {
            "joindate": min(r["joindate"] for r in rows),
            "last_modified": newest_first[0]["last_modified"],
            **{
                c: next((r[c] for r in newest_first if r[c] is not None), None)
                for c in ("identity", "handle", "email")
            },
            "heap_user_count": len(rows),
        }
    return canonical, merged


def test_identity_tables_map_every_user_to_its_canonical_user(heap_courier, heap_export):
    run = courier_run_start(courier=heap_courier, mode="all", queue=False)
    courier_run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    canonical, merged = python_identity(expected_tables(heap_export.spec))
    assert any(uid != cid for uid, cid in canonical.items())  # the export has migrations

    identity = table(IDENTITY_TABLE)
    assert {uid: r["canonical_user_id"] for uid, r in identity.items()} == canonical
    assert {uid for uid, r in identity.items() if r["migrated"]} == {
        uid for uid, cid in canonical.items() if uid != cid
    }
    got = table(MERGED_TABLE)
    assert {cid: {k: v for k, v in r.items() if k != "user_id"} for cid, r in got.items()} == merged
    assert run.events.filter(message__startswith="Identity rebuilt: Heap:User identity").exists()
